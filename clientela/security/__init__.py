"""Access: users, passwords, API keys. (Roles, MFA, sessions and encryption grow here.)"""
