"""The operator CLI (`autoliq`)."""
