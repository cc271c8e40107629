from shopqr import create_app

app = create_app()
