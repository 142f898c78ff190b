"""The fault suite's stand-ins: dynalite (started once per session) for the DynamoDB variant."""

from tests.standins.dynamo import dynalite_endpoint, dynamo_target

__all__ = ["dynalite_endpoint", "dynamo_target"]
