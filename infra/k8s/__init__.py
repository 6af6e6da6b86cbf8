"""The Kubernetes layer both targets share: add-ons, namespaces and the workloads."""
