using BenchmarkDotNet.Attributes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Commands;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;

namespace ChatOpsPull.Bench;

/// <summary>
/// The per-request CPU of the web page's card fragment (50 open incidents: build each card, render it as HTML with its
/// button forms) and of a <c>status</c> answer over the same incidents. No I/O in the measured path.
/// </summary>
[MemoryDiagnoser]
public class WebPageBenchmarks
{
    private readonly DateTimeOffset _now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private Incident[] _incidents = [];
    private Card[] _cards = [];

    [Params(50)]
    public int Incidents { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _incidents = Enumerable.Range(0, Incidents).Select(i => new Incident(
                $"inc-bench{i:D4}",
                new IncidentKey("prod-eu", $"team-{i % 7}", $"deployment/app-{i}", PullCause.ImageNotFound),
                $"registry.example.com/team/app-{i}:1.4.{i}",
                IncidentState.Open,
                _now.AddMinutes(-i),
                _now,
                Enumerable.Range(0, 12).Select(p => new AffectedPod($"app-{i}-7d9c-{p:D5}", "app", "ImagePullBackOff", "Back-off pulling image", _now.AddMinutes(-i), _now)).ToArray(),
                3)
            {
                Workload = new WorkloadRef("Deployment", $"app-{i}"),
            })
            .ToArray();
        _cards = _incidents.Select(i => IncidentCardBuilder.Build(new IncidentCardInput(i, [], [], [], _now))).ToArray();
    }

    [Benchmark(Description = "web fragment: build + render 50 incident cards")]
    public int CardsFragment()
    {
        var cards = _incidents.Select(i => IncidentCardBuilder.Build(new IncidentCardInput(i, [], [], [], _now))).ToArray();
        return WebPageView.Cards(cards, "__RequestVerificationToken", "CfDJ8-bench-token-0123456789abcdefghijklmnopqrstuvwxyz").Length;
    }

    [Benchmark(Description = "web fragment: render 50 prebuilt cards")]
    public int RenderOnly() => WebPageView.Cards(_cards, "__RequestVerificationToken", "CfDJ8-bench-token-0123456789abcdefghijklmnopqrstuvwxyz").Length;

    [Benchmark(Description = "status card over 50 incidents")]
    public int StatusCard() =>
        StatusCommand.Build(null, _incidents, [], Array.Empty<AuditEntry>(), new ChatCommandOptions(), _now).FallbackText.Length;
}
