"""The CrossGuard policy pack: security, GPU hygiene and cost guardrails."""
