"""Editor API: JWT-guarded CRUD and workflow actions that call the services."""
