"""moto on loopback, with a small shim for CloudWatch.

aws-sdk-cloudwatch speaks Smithy RPC v2 CBOR, which moto 5.2.5 does not
(getmoto/moto#9195). This serves moto's own WSGI application and translates
the CloudWatch operations gameday and its tests use (DescribeAlarms,
PutMetricAlarm, SetAlarmState, DeleteAlarms, PutMetricData) from CBOR to moto's query
protocol and back. Everything else goes to moto untouched.

Usage: python moto_shim.py PORT   (binds 127.0.0.1 only)
"""

import datetime
import gzip
import io
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import cbor2
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

PREFIX = "/service/GraniteServiceVersion20100801/operation/"

# Output members kept per alarm: strings only, so no type needs guessing.
ALARM_FIELDS = (
    "AlarmName",
    "AlarmArn",
    "AlarmDescription",
    "StateValue",
    "StateReason",
    "Namespace",
    "MetricName",
    "ComparisonOperator",
    "Statistic",
)


def flatten(prefix, value, out):
    """CBOR input -> query parameters (lists as .member.N, structs as .Key)."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value, 1):
            flatten(f"{prefix}.member.{i}", v, out)
    elif isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.timezone.utc)
        out[prefix] = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    else:
        out[prefix] = str(value)


def strip(tag):
    return tag.split("}", 1)[-1]


def find_all(root, name):
    return [e for e in root.iter() if strip(e.tag) == name]


def alarms(root, section):
    out = []
    for container in find_all(root, section):
        for member in container:
            alarm = {}
            for child in member:
                if strip(child.tag) in ALARM_FIELDS and child.text is not None:
                    alarm[strip(child.tag)] = child.text
            out.append(alarm)
    return out


def translate_output(operation, status, body):
    if status >= 400:
        try:
            root = ET.fromstring(body)
            code = next((e.text for e in find_all(root, "Code")), "InternalFailure")
            message = next((e.text for e in find_all(root, "Message")), "")
        except ET.ParseError:
            code, message = "InternalFailure", body.decode("utf-8", "replace")[:200]
        return {"__type": code, "message": message}
    if operation == "DescribeAlarms":
        root = ET.fromstring(body)
        return {
            "MetricAlarms": alarms(root, "MetricAlarms"),
            "CompositeAlarms": alarms(root, "CompositeAlarms"),
        }
    return {}


class CborShim:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        operation = path[len(PREFIX):]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            raw = gzip.decompress(raw)
        params = {"Action": operation, "Version": "2010-08-01"}
        if raw:
            flatten("", cbor2.loads(raw), params)
        body = urllib.parse.urlencode(params).encode()
        inner = dict(environ)
        inner["PATH_INFO"] = "/"
        inner["REQUEST_METHOD"] = "POST"
        inner["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        inner["CONTENT_LENGTH"] = str(len(body))
        inner["wsgi.input"] = io.BytesIO(body)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            return lambda _: None

        chunks = self.app(inner, capture)
        reply = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        status = captured.get("status", 500)
        out = cbor2.dumps(translate_output(operation, status, reply))
        start_response(
            f"{status} {'OK' if status < 400 else 'Error'}",
            [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("Content-Length", str(len(out))),
            ],
        )
        return [out]


def main():
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, CborShim(app), threaded=True)


if __name__ == "__main__":
    main()
