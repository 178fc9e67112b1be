from dockyard.cli.main import app

app()
