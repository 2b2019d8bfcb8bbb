"""Helpers shared by every test folder: servers on loopback, media checks, deadline waits."""
