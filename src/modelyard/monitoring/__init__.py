"""Monitoring: drift between a reference profile and production traffic."""
