"""Ascent's Pulumi program: one program, two targets (aws, local), one Kubernetes layer."""
