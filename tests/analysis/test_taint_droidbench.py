"""Exact flows (source API and method, sink API and method, sink kind) for one case of each DroidBench category we pass.

Each expectation was checked against androguard's disassembly of the case;
the comment says what the case exercises.
"""

from __future__ import annotations

import pytest

DEVICE_ID = "android.telephony.TelephonyManager.getDeviceId"
SMS = "android.telephony.SmsManager.sendTextMessage"
LOG_I = "android.util.Log.i"

CASES = {
    # b.attr = a; a.b = imei; b.attr.b is sent: the store through one alias is seen through the other.
    "Aliasing/SimpleAliasing1": [
        (DEVICE_ID, "de.ecspride.MainActivity.aliasFlowTest", SMS, "de.ecspride.MainActivity.aliasFlowTest", "sms"),
    ],
    # The text of the EditText whose layout inputType is textPassword (0x81), read in onRestart,
    # is sent by the layout onClick handler sendMessage.
    "AndroidSpecific/PrivateDataLeak1": [
        ("android.widget.TextView.getText", "de.ecspride.PrivateDateLeakage.onRestart", SMS, "de.ecspride.PrivateDateLeakage.sendMessage", "sms"),
    ],
    # Array.newInstance(String.class, {1, 1}): a 2-D array; the IMEI stored in [0][0] is logged.
    "ArraysAndLists/MultidimensionalArray1": [
        (DEVICE_ID, "edu.mit.array_slice.MainActivity.onCreate", LOG_I, "edu.mit.array_slice.MainActivity.onCreate", "log"),
    ],
    # Layout handler clickOnButton3 stores the IMEI in a field; listener 1 sends and logs it;
    # listener 2 clears the field before logging (strong update: no flow).
    "Callbacks/Button2": [
        (DEVICE_ID, "de.ecspride.Button2.clickOnButton3", LOG_I, "de.ecspride.Button2.clickOnButton3", "log"),
        (DEVICE_ID, "de.ecspride.Button2.clickOnButton3", SMS, "de.ecspride.Button2$1.onClick", "sms"),
        (DEVICE_ID, "de.ecspride.Button2.clickOnButton3", LOG_I, "de.ecspride.Button2$1.onClick", "log"),
    ],
    "EmulatorDetection/DeviceId1": [
        (DEVICE_ID, "com.example.newedtester.MainActivity.onCreate", SMS, "com.example.newedtester.MainActivity.onCreate", "sms"),
    ],
    # Two fields of one object: only the one holding the SIM serial is sent.
    "FieldAndObjectSensitivity/FieldSensitivity3": [
        ("android.telephony.TelephonyManager.getSimSerialNumber", "de.ecspride.FieldSensitivity3.onCreate", SMS, "de.ecspride.FieldSensitivity3.onCreate", "sms"),
    ],
    # callMe() throws new RuntimeException(imei); onCreate's catch block sends getMessage().
    "GeneralJava/Exceptions5": [
        (DEVICE_ID, "de.ecspride.Exceptions5.callMe", SMS, "de.ecspride.Exceptions5.onCreate", "sms"),
    ],
    # The IMEI's characters are transformed arithmetically (explicit, not control-dependent, flows).
    "ImplicitFlows/ImplicitFlow1": [
        (DEVICE_ID, "de.ecspride.ImplicitFlow1.onCreate", "java.io.PrintStream.println", "de.ecspride.ImplicitFlow1.obfuscateIMEI", "log"),
        (DEVICE_ID, "de.ecspride.ImplicitFlow1.onCreate", LOG_I, "de.ecspride.ImplicitFlow1.writeToLog", "log"),
    ],
    # The location delivered to onLocationChanged leaves the app in an implicit intent.
    "InterAppCommunication/Location1": [
        ("android.location.LocationListener.onLocationChanged", "com.example.location.MainActivity.onLocationChanged",
         "android.app.Activity.startActivity", "com.example.location.MainActivity.onClick", "ipc"),
    ],
    # The action is "ignore.edu.mit...ACTION".substring(7): evaluated, it selects InFlowActivity only.
    "InterComponentCommunication/ActivityCommunication2": [
        (DEVICE_ID, "edu.mit.icc_action_string_operations.OutFlowActivity.onCreate", LOG_I,
         "edu.mit.icc_action_string_operations.InFlowActivity.onCreate", "log"),
    ],
    # onSaveInstanceState puts the IMEI in the bundle the next onCreate reads.
    "Lifecycle/ActivitySavedState1": [
        (DEVICE_ID, "edu.mit.activity_saved_state.MainActivity.onSaveInstanceState", LOG_I, "edu.mit.activity_saved_state.MainActivity.onCreate", "log"),
    ],
    # A native identity function: its result carries the data of its arguments.
    "Native/NativeIDFunction": [
        (DEVICE_ID, "mod.ndk.ActMain$1.onClick", SMS, "mod.ndk.ActMain$1.onClick", "sms"),
    ],
    "Reflection/Reflection3": [
        (DEVICE_ID, "de.ecspride.MainActivity.onCreate", SMS, "de.ecspride.MainActivity.onCreate", "sms"),
    ],
    # getDeviceId is called by reflection with its name built by StringBuffer.reverse(); the
    # value travels in an intent extra to Activity2.
    "Reflection_ICC/OnlyTelephony_Reverse": [
        (DEVICE_ID, "com.example.onlytelephony.MainActivity.onCreate", SMS, "com.example.onlytelephony.Activity2.onCreate", "sms"),
    ],
    # execute(imei) -> doInBackground(params) logs params[0].
    "Threading/AsyncTask1": [
        (DEVICE_ID, "de.ecspride.MainActivity.onCreate", "android.util.Log.d", "de.ecspride.MainActivity$MyAsyncTask.doInBackground", "log"),
    ],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exact_flows(case, scan_apk):
    report = scan_apk(f"droidbench/{case}.apk")
    found = [
        (f.source.api, f"{f.source.caller_class}.{f.source.caller_method.split('(')[0]}",
         f.sink.api, f"{f.sink.caller_class}.{f.sink.caller_method.split('(')[0]}", f.sink_kind)
        for f in report.flows
    ]
    assert found == CASES[case]


def test_flow_carries_path_actor_and_call_site(scan_apk):
    report = scan_apk("droidbench/GeneralJava/Exceptions5.apk")
    (flow,) = report.flows
    assert flow.id == "flow:0001"
    assert flow.data_types == ("device_or_other_ids",)
    assert flow.path == ("de.ecspride.Exceptions5.callMe()V", "de.ecspride.Exceptions5.onCreate(Landroid/os/Bundle;)V")
    assert (flow.actor, flow.sink_actor) == ("first_party", "first_party")
    site = next(c for c in report.call_sites if c.id == flow.source_call_site)
    assert (site.api, site.caller_method, site.pc) == (DEVICE_ID, "callMe()V", flow.source.pc)


def test_network_flow_lists_the_url_reaching_the_sink(scan_apk):
    # ActivityLifecycle1: onCreate appends the IMEI to the static URL "http://www.google.de/search?q=";
    # onStart -> connect() opens it (HttpURLConnection.connect).
    report = scan_apk("droidbench/Lifecycle/ActivityLifecycle1.apk")
    (flow,) = report.flows
    assert (flow.sink.api, flow.sink_kind) == ("java.net.HttpURLConnection.connect", "network")
    assert flow.destinations == ("http://www.google.de/search?q=",)
    verdict = report.verdict("device_or_other_ids")
    # The host is not the publisher's (de.ecspride): shared, grade flows.
    assert (verdict.verdict, verdict.grade) == ("shared", "flows")
    assert "flow:0001" in verdict.evidence
