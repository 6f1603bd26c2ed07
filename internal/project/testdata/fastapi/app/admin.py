from fastapi import FastAPI

admin = FastAPI(root_path="/admin")
