using System.ComponentModel.DataAnnotations;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Chat.Slack.BlockKit;
using ChatOpsPull.Chat.Teams.Cards;
using ChatOpsPull.Hosting;
using ChatOpsPull.Web;
using Microsoft.Extensions.Configuration;

namespace ChatOpsPull.Tests.Demo;

/// <summary>
/// A card of the simulated cluster carries the banner in Slack, Teams and on the web page, and its notification text says
/// [SIMULATED]; a real cluster's card carries none. The name "simulated" belongs to the simulation, which refuses fleet
/// mode and any kubeconfig that is not the simulated API server on loopback.
/// </summary>
public sealed class SimulationMarkingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chatopspull-simulation-").FullName;

    private static Card IncidentCard(string cluster) => new(
        "incident:inc-sim0001",
        "Image or tag not found: chatopspull-demo/deployment/missing-tag",
        CardTone.Bad,
        "Image or tag not found: chatopspull-demo/deployment/missing-tag",
        [new CardFact("Cluster", cluster), new CardFact("Namespace", "chatopspull-demo")],
        [CardSection.Markdown(null, "The tag does not exist.")],
        [new CardAction("Re-diagnose", new CardActionPayload(CardVerb.Rediagnose, "inc-sim0001"))]);

    [Fact]
    public void Slack_card_of_the_simulated_cluster_has_the_banner_under_its_header_and_a_marked_notification()
    {
        var message = BlockKitRenderer.Render(IncidentCard("simulated"));
        var real = BlockKitRenderer.Render(IncidentCard("prod-eu"));

        // Block Kit JSON escapes the dash; the block's own text is what Slack shows.
        Assert.Contains(SimulationBanner.Text, message.Blocks[1]!["elements"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith(SimulationBanner.Prefix, message.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Simulated cluster", real.Blocks.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SimulationBanner.Prefix, real.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Teams_card_of_the_simulated_cluster_has_the_banner_for_every_viewer_and_a_marked_fallback()
    {
        foreach (var view in new[] { CardView.Everyone, new CardView(false, ["29:1abc"]) })
        {
            var card = AdaptiveCardRenderer.Render(IncidentCard("simulated"), view);
            var json = AdaptiveCardRenderer.Serialize(card);

            Assert.Contains(System.Text.Json.JsonSerializer.Serialize(SimulationBanner.Text)[1..^1], json, StringComparison.Ordinal);
            Assert.StartsWith(SimulationBanner.Prefix, card["fallbackText"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.DoesNotContain('`', json);
        }

        Assert.DoesNotContain("Simulated cluster", AdaptiveCardRenderer.Serialize(AdaptiveCardRenderer.Render(IncidentCard("prod-eu"), CardView.Everyone)), StringComparison.Ordinal);
    }

    [Fact]
    public void Web_card_of_the_simulated_cluster_has_the_banner()
    {
        var html = CardHtmlRenderer.Render(IncidentCard("simulated"), "/actions", "__token", "t");
        var real = CardHtmlRenderer.Render(IncidentCard("prod-eu"), "/actions", "__token", "t");

        Assert.Contains("<p class=\"simulated\" role=\"note\">Simulated cluster", html, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"simulated\"", real, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulated", false, "reserved for the simulation")]
    [InlineData("prod-eu", true, "would make it look real")]
    public void The_name_simulated_and_the_simulation_go_together(string cluster, bool simulation, string expected)
    {
        var options = new BotOptions { Cluster = cluster, Simulation = simulation };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage!.Contains(expected, StringComparison.Ordinal));
        var valid = new BotOptions { Cluster = "simulated", Simulation = true };
        Assert.True(Validator.TryValidateObject(valid, new ValidationContext(valid), [], validateAllProperties: true));
    }

    [Fact]
    public void The_simulation_refuses_fleet_mode_a_remote_api_server_and_no_kubeconfig()
    {
        var remote = Kubeconfig("remote", "https://10.20.30.40:6443");
        var loopback = Kubeconfig("loopback", "http://127.0.0.1:6443");
        var simulated = new BotOptions { Cluster = "simulated", Simulation = true };

        Assert.True(Guard(("Kubernetes:KubeconfigPath", loopback)).Validate(null, simulated).Succeeded);
        Assert.Contains("never runs with real Kubernetes credentials", Guard(("Kubernetes:KubeconfigPath", remote)).Validate(null, simulated).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("fleet mode", Guard(("Kubernetes:KubeconfigPath", loopback), ("Fleet:Enabled", "true")).Validate(null, simulated).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("never uses in-cluster or default credentials", Guard().Validate(null, simulated).FailureMessage, StringComparison.Ordinal);
        Assert.True(Guard(("Kubernetes:KubeconfigPath", remote), ("Fleet:Enabled", "true")).Validate(null, new BotOptions { Cluster = "prod-eu" }).Succeeded);
    }

    [Theory]
    [InlineData("--Kubernetes:KubeconfigPath=/root/.kube/config")]
    [InlineData("--kubeconfig")]
    [InlineData("--Fleet:Enabled=true")]
    [InlineData("--Bot:Cluster=prod")]
    public void The_simulated_demo_refuses_options_that_point_it_at_something_real(string option)
    {
        Assert.Contains("cannot be combined with the simulated cluster", SimulatedDemo.Problem([option, "x"]), StringComparison.Ordinal);
        Assert.Null(SimulatedDemo.Problem(["--urls=http://127.0.0.1:9999", "--Slack:BotToken=xoxb-1"]));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static SimulationGuard Guard(params (string Key, string Value)[] settings) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    private string Kubeconfig(string name, string server)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, $$"""
            apiVersion: v1
            kind: Config
            clusters: [{ name: c, cluster: { server: "{{server}}" } }]
            users: [{ name: u, user: { token: t } }]
            contexts: [{ name: c, context: { cluster: c, user: u } }]
            current-context: c
            """);
        return path;
    }
}
