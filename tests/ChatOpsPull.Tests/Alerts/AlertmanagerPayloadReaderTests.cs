using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChatOpsPull.Detection.Webhooks;
using static ChatOpsPull.Tests.Alerts.WebhookCalls;

namespace ChatOpsPull.Tests.Alerts;

/// <summary>
/// The Alertmanager message read straight from its bytes: what the bot uses is read as Alertmanager sends it, what it
/// does not use is skipped but still checked, and every hostile shape is refused with its path.
/// </summary>
public sealed class AlertmanagerPayloadReaderTests
{
    private static readonly DateTimeOffset StartsAt = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    private readonly AlertmanagerPayloadReader _reader = new(
        new AlertmanagerWebhookOptions(), AlertmanagerWebhook.PullReasonsOf(new AlertWebhookOptions()), "default-cluster", TimeProvider.System);

    [Fact]
    public void A_kube_prometheus_alert_gives_its_pod_reason_words_start_and_identity_and_skips_everything_else()
    {
        var labels = PullLabels("shop", "web-7d9c5b6f4-x2x4p", container: "web");
        labels["cluster"] = "prod-eu";
        labels["image"] = "nginx:1.99";
        labels["owner_kind"] = "ReplicaSet";
        labels["owner_name"] = "web-7d9c5b6f4";
        var alert = Alert("firing", labels, description: "pod/web waiting (reason: \"ImagePullBackOff\")", fingerprint: "0123abcd", startsAt: StartsAt);
        alert["annotations"]!["runbook_url"] = "https://runbooks.example/kubecontainerwaiting";
        alert["annotations"]!["summary"] = "Pod container waiting longer than 1 hour";
        var message = Message(alert, Alert("firing", new Dictionary<string, string> { ["alertname"] = "Watchdog", ["severity"] = "none" }));
        message["commonLabels"] = new JsonObject { ["deep"] = new JsonObject { ["er"] = new JsonArray(1, 2, new JsonObject { ["x"] = null }) } };

        var batch = Read(message.ToJsonString()).Batch;

        Assert.NotNull(batch);
        Assert.Equal(2, batch.AlertCount);
        Assert.Equal(1, batch.Ignored);
        var read = Assert.Single(batch.Alerts);
        Assert.Equal(AlertStatus.Firing, read.Status);
        Assert.Equal(("prod-eu", "shop", "web-7d9c5b6f4-x2x4p", "web", "nginx:1.99", "ImagePullBackOff"), (read.Failure.Cluster, read.Failure.Namespace, read.Failure.Pod, read.Failure.Container, read.Failure.Image, read.Failure.Reason));
        Assert.Equal("pod/web waiting (reason: \"ImagePullBackOff\")", read.Failure.Message);
        Assert.Equal(StartsAt, read.Failure.ObservedAt);
        Assert.Equal(("ReplicaSet", "web-7d9c5b6f4"), (read.Failure.Workload!.Kind, read.Failure.Workload.Name));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"0123abcd|{StartsAt.UtcTicks}|f"), read.DeduplicationKey);
    }

    [Fact]
    public void A_label_name_written_with_escapes_is_the_same_label_and_a_repeated_label_keeps_its_last_value()
    {
        var body = Message(Alert("firing", PullLabels("shop", "first"))).ToJsonString()
            .Replace("\"pod\":\"first\"", "\"pod\":\"first\",\"\\u0070od\":\"second\"", StringComparison.Ordinal);

        var batch = Read(body).Batch;

        Assert.Equal("second", Assert.Single(batch!.Alerts).Failure.Pod);
    }

    [Fact]
    public void Without_a_fingerprint_an_alert_is_known_by_its_label_set_in_any_order()
    {
        var labels = PullLabels("shop", "api-1");
        var reordered = labels.Reverse().ToDictionary();
        var other = PullLabels("shop", "api-1");
        other["severity"] = "critical";
        var message = Message(Alert("firing", labels, startsAt: StartsAt), Alert("firing", reordered, startsAt: StartsAt), Alert("firing", other, startsAt: StartsAt));
        foreach (var alert in message["alerts"]!.AsArray())
        {
            alert!.AsObject().Remove("fingerprint");
        }

        var keys = Read(message.ToJsonString()).Batch!.Alerts.Select(a => a.DeduplicationKey).ToList();

        Assert.Equal(keys[0], keys[1]);
        Assert.NotEqual(keys[0], keys[2]);
    }

    [Theory]
    [InlineData("\"truncatedAlerts\":0", "\"truncatedAlerts\":\"0\"", "$.truncatedAlerts")]
    [InlineData("\"alerts\":[", "\"alerts\":{\"a\":[", "$.alerts")]
    [InlineData("\"alerts\":[", "\"alerts\":[5,", "$.alerts[0]")]
    [InlineData("\"status\":\"firing\",\"labels\"", "\"status\":[\"firing\"],\"labels\"", "$.alerts[0].status")]
    [InlineData("\"labels\":{", "\"labels\":{\"tier\":{\"nested\":\"x\"},", "$.alerts[0].labels.tier")]
    [InlineData("\"labels\":{", "\"labels\":{\"pod\":42,", "$.alerts[0].labels.pod")]
    [InlineData("\"annotations\":{", "\"annotations\":{\"runbook\":true,", "$.alerts[0].annotations.runbook")]
    [InlineData("\"annotations\":{", "\"annotations\":{\"description\":[],", "$.alerts[0].annotations.description")]
    [InlineData("\"startsAt\":\"", "\"startsAt\":\"yesterday", "$.alerts[0].startsAt")]
    [InlineData("\"fingerprint\":\"", "\"fingerprint\":7,\"x\":\"", "$.alerts[0].fingerprint")]
    public void A_member_of_the_wrong_json_type_is_refused_with_its_path_even_where_the_bot_reads_nothing(string find, string replace, string path)
    {
        var body = OneAlert().Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(OneAlert(), body);

        var reading = Read(body);

        Assert.Null(reading.Batch);
        Assert.Equal(path, reading.Errors[0].Path);
        Assert.DoesNotContain("System.", reading.Errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"generatorURL\":\"", "\"generatorURL\":tru\"", "$.alerts[0]")]
    [InlineData("\"labels\":{", "\"labels\":{\"a\" \"b\",", "$.alerts[0].labels")]
    [InlineData("\"truncatedAlerts\":0}", "\"truncatedAlerts\":0} {}", "$")]
    [InlineData("\"truncatedAlerts\":0}", "\"truncatedAlerts\":0", "$")]
    public void Malformed_json_anywhere_even_in_a_member_that_is_skipped_is_refused_saying_where(string find, string replace, string path)
    {
        var body = OneAlert().Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(OneAlert(), body);

        var reading = Read(body);

        Assert.Null(reading.Batch);
        var error = Assert.Single(reading.Errors);
        Assert.Equal(path, error.Path);
        Assert.StartsWith("malformed JSON", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("severity")]
    [InlineData("pod")]
    public void A_label_that_is_not_valid_utf8_is_refused_whether_or_not_the_bot_reads_it(string label)
    {
        var body = Encoding.UTF8.GetBytes(OneAlert().Replace($"\"{label}\":\"", $"\"{label}\":\"MARK", StringComparison.Ordinal));
        var mark = body.AsSpan().IndexOf("MARK"u8);
        body[mark] = 0xC0;
        body[mark + 1] = 0xAF;

        var reading = _reader.Read(body, out _);

        Assert.Null(reading.Batch);
        Assert.Equal($"$.alerts[0].labels.{label}", reading.Errors[0].Path);
    }

    [Theory]
    [InlineData("namespace", "../kube-system")]
    [InlineData("namespace", "sh\u200Bop")]
    [InlineData("pod", "api/../../etc")]
    [InlineData("pod", "api-\u202Egnp.exe")]
    [InlineData("container", "app;rm -rf")]
    [InlineData("cluster", "prod\neu")]
    [InlineData("image", "nginx\u0007:1")]
    [InlineData("owner_name", "web/../x")]
    public void Hostile_label_content_refuses_the_message_and_names_the_label(string label, string value)
    {
        var labels = PullLabels("shop", "api-1");
        labels["owner_kind"] = "ReplicaSet";
        labels["owner_name"] = "api";
        labels[label] = value;

        var reading = Read(Message(Alert("firing", labels), Alert("firing", PullLabels("shop", "api-2"))).ToJsonString());

        Assert.Null(reading.Batch);
        Assert.Equal($"$.alerts[0].labels.{label}", Assert.Single(reading.Errors).Path);
    }

    [Fact]
    public void Errors_of_many_alerts_are_reported_together_up_to_fifty()
    {
        var alerts = Enumerable.Range(0, 80).Select(i => Alert("pending", PullLabels("shop", $"api-{i}"))).ToArray();

        var reading = Read(Message(alerts).ToJsonString());

        Assert.Null(reading.Batch);
        Assert.Equal(50, reading.Errors.Count);
        Assert.Equal("$.alerts[49].status", reading.Errors[^1].Path);
    }

    [Theory]
    [InlineData(false, "Zeichen: äöü ✓ 🚀 and a \"quote\"")]
    [InlineData(true, "Zeichen: äöü ✓ 🚀, raw UTF-8")]
    public void Escaped_and_unicode_strings_read_as_the_text_they_spell(bool rawUtf8, string description)
    {
        var labels = PullLabels("shop", "api-1");
        var writing = new JsonSerializerOptions { Encoder = rawUtf8 ? JavaScriptEncoder.UnsafeRelaxedJsonEscaping : JavaScriptEncoder.Default };
        var body = Message(Alert("firing", labels, description: description, fingerprint: "00ff", startsAt: StartsAt)).ToJsonString(writing)
            .Replace("\"status\":\"firing\",\"labels\"", "\"status\":\"fir\\u0069ng\",\"labels\"", StringComparison.Ordinal)
            .Replace("\"ImagePullBackOff\"", "\"Im\\u0061gePullBackOff\"", StringComparison.Ordinal)
            .Replace("\"00ff\"", "\"\\u0030\\u0030ff\"", StringComparison.Ordinal)
            .Replace("\"api-1\"", "\"ap\\u0069-1\"", StringComparison.Ordinal);
        Assert.Contains("\\u0069ng", body, StringComparison.Ordinal);

        var read = Assert.Single(Read(body).Batch!.Alerts);

        Assert.Equal(AlertStatus.Firing, read.Status);
        Assert.Equal(("api-1", "ImagePullBackOff"), (read.Failure.Pod, read.Failure.Reason));
        Assert.Equal(description, read.Failure.Message);
        Assert.Equal(rawUtf8, body.Contains('✓', StringComparison.Ordinal));
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"00ff|{StartsAt.UtcTicks}|f"), read.DeduplicationKey);
    }

    [Fact]
    public void Each_alert_of_a_message_keeps_its_own_label_values_however_its_neighbours_spell_theirs()
    {
        var alerts = new[]
        {
            Alert("firing", PullLabels("shop", "api-1", container: "web")),
            Alert("firing", PullLabels("shop", "api-2", container: "web")),
            Alert("firing", PullLabels("cart", "api-3", container: "sidecar", reason: "ErrImagePull")),
            Alert("firing", PullLabels("shop", "api-4", container: "web")),
        };
        alerts[2]["labels"]!["cluster"] = "prod-eu";
        var body = Message(alerts).ToJsonString();
        // The fourth alert spells "shop" with an escape: another spelling of the same text.
        var fourth = body.LastIndexOf("\"namespace\":\"shop\"", StringComparison.Ordinal);
        body = string.Concat(body.AsSpan(0, fourth), "\"namespace\":\"sh\\u006fp\"", body.AsSpan(fourth + "\"namespace\":\"shop\"".Length));

        var read = Read(body).Batch!.Alerts.Select(a => (a.Failure.Cluster, a.Failure.Namespace, a.Failure.Pod, a.Failure.Container, a.Failure.Reason)).ToList();

        Assert.Equal(
            [
                ("default-cluster", "shop", "api-1", "web", "ImagePullBackOff"),
                ("default-cluster", "shop", "api-2", "web", "ImagePullBackOff"),
                ("prod-eu", "cart", "api-3", "sidecar", "ErrImagePull"),
                ("default-cluster", "shop", "api-4", "web", "ImagePullBackOff"),
            ],
            read);
    }

    [Theory]
    [InlineData("{\"description\":\"\",\"message\":\"from message\",\"summary\":\"from summary\"}", "from message")]
    [InlineData("{\"summary\":\"from summary\",\"description\":null}", "from summary")]
    [InlineData("{\"summary\":\"from summary\",\"description\":\"from description\"}", "from description")]
    [InlineData("{\"runbook_url\":\"https://x\"}", "")]
    [InlineData("null", "")]
    public void The_alerts_words_are_its_description_else_message_else_summary(string annotations, string words)
    {
        var body = OneAlert().Replace("\"annotations\":{\"description\":\"waiting\"}", $"\"annotations\":{annotations}", StringComparison.Ordinal);
        Assert.NotEqual(OneAlert(), body);

        Assert.Equal(words, Assert.Single(Read(body).Batch!.Alerts).Failure.Message);
    }

    [Fact]
    public void An_annotation_that_is_not_valid_utf8_is_refused_even_when_the_description_is_used()
    {
        var body = Encoding.UTF8.GetBytes(OneAlert().Replace("\"annotations\":{", "\"annotations\":{\"summary\":\"MARK\",", StringComparison.Ordinal));
        var mark = body.AsSpan().IndexOf("MARK"u8);
        body[mark] = 0xC0;
        body[mark + 1] = 0xAF;

        var reading = _reader.Read(body, out _);

        Assert.Null(reading.Batch);
        Assert.Equal("$.alerts[0].annotations.summary", reading.Errors[0].Path);
    }

    [Fact]
    public void Labels_with_odd_names_and_values_are_skipped_and_still_tell_alerts_without_fingerprints_apart()
    {
        var labels = PullLabels("shop", "api-1");
        labels["tier \"quoted\" ✓"] = "a\\b\n\u00e9";
        labels["emoji🚀"] = "";
        var other = new Dictionary<string, string>(labels) { ["emoji🚀"] = "x" };
        var message = Message(Alert("firing", labels, startsAt: StartsAt), Alert("firing", other, startsAt: StartsAt));
        foreach (var alert in message["alerts"]!.AsArray())
        {
            alert!.AsObject().Remove("fingerprint");
        }

        var alerts = Read(message.ToJsonString()).Batch!.Alerts;

        Assert.Equal(2, alerts.Count);
        Assert.All(alerts, a => Assert.Equal(("shop", "api-1"), (a.Failure.Namespace, a.Failure.Pod)));
        Assert.NotEqual(alerts[0].DeduplicationKey, alerts[1].DeduplicationKey);
    }

    [Fact]
    public void A_message_with_an_empty_alerts_array_is_a_batch_of_nothing()
    {
        var reading = Read("{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[],\"truncatedAlerts\":0}");

        Assert.Equal((0, 0, 0), (reading.Batch!.AlertCount, reading.Batch.Alerts.Count, reading.Batch.Ignored));
    }

    [Fact]
    public void An_alert_without_fingerprint_start_or_annotations_is_read_with_what_it_has()
    {
        var alert = Alert("firing", PullLabels("shop", "api-1"));
        alert.Remove("fingerprint");
        alert.Remove("startsAt");
        alert.Remove("annotations");
        alert["extra"] = new JsonObject { ["nested"] = new JsonArray("x", 1, null) };

        var read = Assert.Single(Read(Message(alert).ToJsonString()).Batch!.Alerts);

        Assert.Equal((string.Empty, "api-1"), (read.Failure.Message, read.Failure.Pod));
        Assert.EndsWith("|0|f", read.DeduplicationKey, StringComparison.Ordinal);
    }

    private static string OneAlert() =>
        Message(Alert("firing", PullLabels("shop", "api-1"), description: "waiting", fingerprint: "00ff", startsAt: StartsAt)).ToJsonString();

    private PayloadReading Read(string body) => _reader.Read(Encoding.UTF8.GetBytes(body), out _);
}
