"""The REST API (FastAPI): thin routes over the services, problem+json errors, API-key auth."""
