from agento._cli import entrypoint

entrypoint()
