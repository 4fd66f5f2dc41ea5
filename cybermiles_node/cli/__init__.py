"""Command-line interface of the CyberMiles node (`cmnode`)."""
