from django.urls import path

from benchsite import views

urlpatterns = [
    path("health/", views.health),
    path("", views.index),
]
