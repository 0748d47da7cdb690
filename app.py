from sferum_lite import load_app

app = load_app()
