using System.Globalization;
using System.Text;

namespace ChatOpsPull.Load;

/// <summary>
/// Alertmanager webhook messages as kube-prometheus sends them for KubeContainerWaiting: every alert has a fresh
/// fingerprint and pod, so the bot's re-send filter never drops one and every alert must reach the sink.
/// </summary>
public static class AlertmanagerPayloads
{
    private static long _sequence;

    public static byte[] Next(int connection, int alerts)
    {
        var ns = string.Create(CultureInfo.InvariantCulture, $"load-{connection}");
        var startsAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var body = new StringBuilder(900 * alerts + 600);
        body.Append("{\"receiver\":\"chatopspull\",\"status\":\"firing\",\"alerts\":[");
        for (var i = 0; i < alerts; i++)
        {
            var n = Interlocked.Increment(ref _sequence);
            var pod = string.Create(CultureInfo.InvariantCulture, $"api-7d9c5b8f6-{n:x8}");
            if (i > 0)
            {
                body.Append(',');
            }

            body.Append(CultureInfo.InvariantCulture, $$"""
                {"status":"firing","labels":{"alertname":"KubeContainerWaiting","cluster":"prod-eu","container":"api","endpoint":"http","instance":"10.42.3.17:8080","job":"kube-state-metrics","namespace":"{{ns}}","pod":"{{pod}}","prometheus":"monitoring/k8s","reason":"ImagePullBackOff","service":"kube-state-metrics","severity":"warning","uid":"5b0f4c8e-3f7a-4e55-9d1e-{{n:x12}}"},"annotations":{"description":"pod/{{pod}} in namespace {{ns}} on container api has been in waiting state for longer than 1 hour. (reason: \"ImagePullBackOff\") on cluster prod-eu.","runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecontainerwaiting","summary":"Pod container waiting longer than 1 hour"},"startsAt":"{{startsAt}}","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=kube_pod_container_status_waiting_reason&g0.tab=1","fingerprint":"{{n:x16}}"}
                """);
        }

        body.Append(CultureInfo.InvariantCulture, $$"""
            ],"groupLabels":{"namespace":"{{ns}}"},"commonLabels":{"alertname":"KubeContainerWaiting","cluster":"prod-eu","namespace":"{{ns}}","severity":"warning"},"commonAnnotations":{"summary":"Pod container waiting longer than 1 hour"},"externalURL":"http://alertmanager-main-0:9093","version":"4","groupKey":"{}:{namespace=\"{{ns}}\"}","truncatedAlerts":0}
            """);
        return Encoding.UTF8.GetBytes(body.ToString());
    }
}
