import fastapi

from app.admin import admin

app = fastapi.FastAPI()
app.mount("/admin", admin)
