from tests.integration.gateway.conftest import fake, gateway, gateway_factory

__all__ = ["fake", "gateway", "gateway_factory"]
