"""The web interface: server-rendered Jinja2 pages with htmx (no CDN; works offline)."""
