from sferum_lite import create_app

app = create_app()
