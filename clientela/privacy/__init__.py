"""Privacy: purposes register, consent ledger and eligibility, data-subject requests, erasure
with a suppression list, retention and breach reports (LGPD, GDPR, CCPA, 152-FZ)."""
