"""The practice team: secretaries a practitioner invites to work in the practice's agenda."""
