import django
import psycopg2
import psycopg2.extensions
from django.http import JsonResponse


def health(request):
    # psycopg2's C extension is loaded: the driver is usable, though no
    # database is reached from a health probe.
    return JsonResponse({
        "status": "ok",
        "django": django.get_version(),
        "psycopg2": psycopg2.__version__,
        "libpq": psycopg2.extensions.libpq_version(),
    })


def index(request):
    return JsonResponse({"service": "django-service"})
