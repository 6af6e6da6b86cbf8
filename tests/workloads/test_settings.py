"""Connection settings from the environment: the three Kafka auth modes and their errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workloads.common.settings import KafkaSettings, StoreSettings


def test_defaults_reach_the_embedded_broker_and_a_local_directory(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_AUTH", "OBJECT_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    conf = KafkaSettings().client_config()
    assert conf.pop("logger").name == "librdkafka" and conf.pop("log_level") == 4
    assert conf == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}
    assert StoreSettings().object_store_url == "file://./artifacts"


def test_scram_over_tls_from_the_environment(monkeypatch):
    monkeypatch.setenv("KAFKA_AUTH", "scram-sha-512")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_USERNAME", "trainer")
    monkeypatch.setenv("KAFKA_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CA_LOCATION", "/var/run/ascent/kafka-ca/ca.crt")
    settings = KafkaSettings()
    conf = settings.client_config()
    assert conf["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert (conf["sasl.username"], conf["sasl.password"]) == ("trainer", "s3cret")
    assert conf["ssl.ca.location"].endswith("ca.crt")
    assert "s3cret" not in repr(settings)


def test_msk_iam_uses_an_oauthbearer_callback(monkeypatch):
    monkeypatch.setenv("KAFKA_AUTH", "aws-iam")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    conf = KafkaSettings().client_config()
    assert conf["sasl.mechanisms"] == "OAUTHBEARER" and callable(conf["oauth_cb"])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KAFKA_AUTH": "scram-sha-512", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
            "needs KAFKA_USERNAME and KAFKA_PASSWORD",
        ),
        ({"KAFKA_AUTH": "aws-iam", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs AWS_REGION"),
        (
            {"KAFKA_AUTH": "scram-sha-512", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"},
            "needs KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        ),
        ({"KAFKA_AUTH": "kerberos"}, "auth"),
    ],
)
def test_inconsistent_kafka_settings_say_what_is_missing(monkeypatch, env, message):
    monkeypatch.delenv("AWS_REGION", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=message):
        KafkaSettings()


def test_unknown_store_scheme_is_refused(monkeypatch):
    monkeypatch.setenv("OBJECT_STORE_URL", "gs://bucket")
    with pytest.raises(ValidationError, match="file://DIR or s3://BUCKET"):
        StoreSettings()
