"""flask-service: the example application kiln builds in its README and e2e tests."""
