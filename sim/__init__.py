"""sim: an event-sourced scenario simulator for policy analysis."""
