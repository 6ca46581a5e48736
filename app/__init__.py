"""Demarche Tracker: from instruction cable to host-government response."""
