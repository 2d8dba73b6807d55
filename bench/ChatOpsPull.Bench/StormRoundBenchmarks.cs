using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Detection.KubernetesWatch;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Bench;

/// <summary>
/// Two things a storm does once per pod or per round: the watcher decodes a pod's watch line (the fixture's failing pod
/// as a MODIFIED event), and a round over a diagnosed incident reads its diagnosis text and writes it back unchanged.
/// <c>--filter '*StormRoundBenchmarks*' --job short --inProcess</c>; the <c>Parse…</c> method is what the round did before
/// (parse and serialize the same text each time), in the same run.
/// </summary>
[MemoryDiagnoser]
public class StormRoundBenchmarks
{
    private ReadOnlySequence<byte> _watchLine;
    private string _diagnosisText = string.Empty;
    private readonly StringPool _pool = new();

    [GlobalSetup]
    public void Setup()
    {
        var pod = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "kubernetes", "pod-web-errimagepull.json")))!;
        _watchLine = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "MODIFIED", ["object"] = pod }.ToJsonString()));
        var plan = new RemediationPlan(RemediationKind.SetImageTag, "shop", "Deployment", "web", "Set tag to 1.4.2", "Changes the image tag of container web to 1.4.2.", RemediationRisk.Medium,
            new Dictionary<string, string> { ["container"] = "web", ["image"] = "registry.example.com/shop/web:1.4.2" });
        var diagnosis = new Diagnosis(
            PullCause.ImageNotFound,
            0.95,
            "registry.example.com/shop/web:1.4.3-typo does not exist; 1.4.2 and 1.4.3 do",
            [
                new Evidence("registry", EvidenceOutcome.Failed, "manifest unknown for tag 1.4.3-typo", TimeSpan.FromMilliseconds(6)),
                new Evidence("tags", EvidenceOutcome.Info, "nearest tags: 1.4.2, 1.4.3"),
                new Evidence("pull secret", EvidenceOutcome.Passed, "regcred is attached and valid for registry.example.com"),
            ],
            "Failed to pull image \"registry.example.com/shop/web:1.4.3-typo\": rpc error: code = NotFound desc = failed to pull and unpack image",
            [plan])
        {
            DiagnosedAt = DateTimeOffset.UnixEpoch,
        };
        _diagnosisText = JsonSerializer.Serialize(diagnosis, IncidentJson.Options);
    }

    [Benchmark]
    public object DecodeWatchLine() => PodJson.ReadWatchEvent(_watchLine, _pool);

    [Benchmark]
    public string DiagnosisReadAndWrittenBack() => IncidentJson.Serialize(IncidentJson.Deserialize(_diagnosisText)!);

    [Benchmark]
    public string ParseAndSerializeDiagnosisEachTime() =>
        JsonSerializer.Serialize(JsonSerializer.Deserialize<Diagnosis>(_diagnosisText, IncidentJson.Options)!, IncidentJson.Options);
}
