"""Traffic analysis: personal data observed in captured network traffic (issue #5).

Public API::

    from datasafety.traffic import analyse_capture
    result = analyse_capture("capture.har", device="device.yaml", trackers="trackers.json")
    result.observations      # tuple[Observation, ...], ids obs:0001...
    result.to_json()         # deterministic dict, see docs/traffic.md
"""

from datasafety.traffic.analyse import KnowledgeError, analyse_capture, analyse_requests
from datasafety.traffic.detect.profile import DeviceProfile, ProfileError, load_profile
from datasafety.traffic.model import Anomaly, CapturedRequest, Destination, Observation, Precision, TrafficResult

__all__ = [
    "Anomaly",
    "CapturedRequest",
    "Destination",
    "DeviceProfile",
    "KnowledgeError",
    "Observation",
    "Precision",
    "ProfileError",
    "TrafficResult",
    "analyse_capture",
    "analyse_requests",
    "load_profile",
]
