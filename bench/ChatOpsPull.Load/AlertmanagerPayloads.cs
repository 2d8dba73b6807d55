using System.Globalization;
using System.Text;

namespace ChatOpsPull.Load;

/// <summary>
/// Alertmanager webhook messages as kube-prometheus sends them for KubeContainerWaiting. Every alert gets a fresh
/// number (in its pod name, uid and fingerprint), so the bot's re-send filter never drops one and every alert must reach
/// the sink. The body is a template laid out once per connection; each request copies it and writes the numbers in, so
/// the driver spends its CPU on HTTP, not on building JSON.
/// </summary>
public sealed class AlertmanagerPayloads
{
    private const string Number = "%%NUMBER-SIXTEEN"; // 16 bytes, replaced by 16 hex digits
    private static long _sequence;

    private readonly byte[] _template;
    private readonly int[][] _offsets;

    public AlertmanagerPayloads(int connection, int alerts)
    {
        var ns = string.Create(CultureInfo.InvariantCulture, $"load-{connection}");
        var startsAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var parts = new List<string> { "{\"receiver\":\"chatopspull\",\"status\":\"firing\",\"alerts\":[" };
        for (var i = 0; i < alerts; i++)
        {
            parts.Add($$"""
                {{(i > 0 ? "," : string.Empty)}}{"status":"firing","labels":{"alertname":"KubeContainerWaiting","cluster":"prod-eu","container":"api","endpoint":"http","instance":"10.42.3.17:8080","job":"kube-state-metrics","namespace":"{{ns}}","pod":"api-7d9c5b8f6-{{Number}}","prometheus":"monitoring/k8s","reason":"ImagePullBackOff","service":"kube-state-metrics","severity":"warning","uid":"5b0f4c8e-3f7a-{{Number}}"},"annotations":{"description":"pod/api-7d9c5b8f6-{{Number}} in namespace {{ns}} on container api has been in waiting state for longer than 1 hour. (reason: \"ImagePullBackOff\") on cluster prod-eu.","runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecontainerwaiting","summary":"Pod container waiting longer than 1 hour"},"startsAt":"{{startsAt}}","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=kube_pod_container_status_waiting_reason&g0.tab=1","fingerprint":"{{Number}}"}
                """);
        }

        parts.Add($$"""
            ],"groupLabels":{"namespace":"{{ns}}"},"commonLabels":{"alertname":"KubeContainerWaiting","cluster":"prod-eu","namespace":"{{ns}}","severity":"warning"},"commonAnnotations":{"summary":"Pod container waiting longer than 1 hour"},"externalURL":"http://alertmanager-main-0:9093","version":"4","groupKey":"{}:{namespace=\"{{ns}}\"}","truncatedAlerts":0}
            """);

        _template = Encoding.UTF8.GetBytes(string.Concat(parts));
        var marker = Encoding.UTF8.GetBytes(Number);
        _offsets = new int[alerts][];
        var position = 0;
        for (var i = 0; i < alerts; i++)
        {
            var found = new List<int>();
            for (var k = 0; k < 4; k++)
            {
                position += _template.AsSpan(position).IndexOf(marker);
                found.Add(position);
                position += marker.Length;
            }

            _offsets[i] = [.. found];
        }
    }

    public int Length => _template.Length;

    /// <summary>A message whose alerts all carry numbers never used before.</summary>
    public byte[] Next()
    {
        var body = (byte[])_template.Clone();
        foreach (var offsets in _offsets)
        {
            var n = Interlocked.Increment(ref _sequence);
            foreach (var offset in offsets)
            {
                n.TryFormat(body.AsSpan(offset, 16), out _, "x16", CultureInfo.InvariantCulture);
            }
        }

        return body;
    }
}
