from agento._cli.main import entrypoint

entrypoint()
