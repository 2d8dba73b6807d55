using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Prevention;
using ChatOpsPull.Tests.Registry;
using static ChatOpsPull.Tests.Prevention.AdmissionReviews;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>
/// POST /admission/validate as the API server calls it: AdmissionReview requests from the Kubernetes documentation's
/// examples (tests/fixtures/admission), over HTTPS with the test's CA, against the real registries (anonymous, htpasswd,
/// one nobody listens on, one that never answers), ServiceAccounts and secrets in the fake API server. Every answer is
/// checked against the documented response shape (apiVersion/kind, uid echoed, status when refused, warnings limits).
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class AdmissionWebhookTests(RegistryFixture registry)
{
    [Fact]
    public async Task A_missing_tag_is_admitted_with_a_warning_that_names_the_nearest_tag()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var review = PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.3");

        var (status, answer, _) = await SendAsync(client, review);

        Assert.Equal(HttpStatusCode.OK, status);
        AssertResponseShape(review, answer);
        Assert.True(Allowed(answer));
        var warning = Assert.Single(Warnings(answer));
        Assert.Equal($"image team/app:1.4.3 does not exist in {registry.Anonymous}; nearest tag 1.4.2", warning);
        Assert.InRange(warning.Length, 1, Core.Prevention.AdmissionWarnings.PreferredLength);
    }

    [Fact]
    public async Task A_private_repository_without_a_pull_secret_is_warned_about()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var review = PodCreate("shop", $"{registry.Basic}/private/app:1.0");

        var (_, answer, _) = await SendAsync(client, review);

        AssertResponseShape(review, answer);
        Assert.True(Allowed(answer));
        var warning = Assert.Single(Warnings(answer));
        Assert.Contains($"{registry.Basic} refuses private/app:1.0 without credentials", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_right_pull_secret_on_the_pod_or_its_service_account_admits_without_a_word()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        bed.Api.Seed(AdmissionBed.PullSecret("shop", "regcred", registry.Basic, RegistryFixture.BasicUser, RegistryFixture.BasicPassword));
        bed.Api.Seed(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ServiceAccount",
            ["metadata"] = new JsonObject { ["name"] = "builder", ["namespace"] = "shop" },
            ["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "regcred" }),
        });
        using var client = bed.Client();
        var onPod = PodCreate("shop", $"{registry.Basic}/private/app:1.0", pullSecret: "regcred");
        var onAccount = PodCreate("shop", $"{registry.Basic}/private/app:1.0", spec: s => s["serviceAccountName"] = "builder");

        var (_, podAnswer, _) = await SendAsync(client, onPod);
        var (_, accountAnswer, _) = await SendAsync(client, onAccount);

        AssertResponseShape(onPod, podAnswer);
        AssertResponseShape(onAccount, accountAnswer);
        Assert.True(Allowed(podAnswer));
        Assert.Empty(Warnings(podAnswer));
        Assert.True(Allowed(accountAnswer));
        Assert.Empty(Warnings(accountAnswer));
    }

    [Fact]
    public async Task Credentials_the_registry_refuses_are_warned_about_by_secret_name()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        bed.Api.Seed(AdmissionBed.PullSecret("shop", "stale", registry.Basic, RegistryFixture.BasicUser, "not-the-password"));
        using var client = bed.Client();
        var review = PodCreate("shop", $"{registry.Basic}/private/app:1.0", pullSecret: "stale");

        var (_, answer, _) = await SendAsync(client, review);

        AssertResponseShape(review, answer);
        Assert.True(Allowed(answer));
        Assert.Equal($"{registry.Basic} refuses the credentials in secret shop/stale for private/app:1.0", Assert.Single(Warnings(answer)));
    }

    [Fact]
    public async Task An_image_without_the_platform_the_pod_is_pinned_to_is_warned_about()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var s390x = PodCreate("shop", $"{registry.Anonymous}/team/multi:1.0", spec: s => s["nodeSelector"] = new JsonObject { ["kubernetes.io/arch"] = "s390x" });
        var arm64 = PodCreate("shop", $"{registry.Anonymous}/team/multi:1.0", spec: s => s["affinity"] = JsonNode.Parse("""
            {"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
              {"matchExpressions":[{"key":"kubernetes.io/arch","operator":"In","values":["arm64","amd64"]}]}]}}}
            """));

        var (_, missing, _) = await SendAsync(client, s390x);
        var (_, present, _) = await SendAsync(client, arm64);

        AssertResponseShape(s390x, missing);
        Assert.Equal("image team/multi:1.0 has no variant for linux/s390x (it has linux/amd64, linux/arm64)", Assert.Single(Warnings(missing)));
        AssertResponseShape(arm64, present);
        Assert.Empty(Warnings(present));
    }

    [Fact]
    public async Task A_registry_that_is_down_is_admitted_as_not_verified()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var review = PodCreate("shop", $"{AdmissionBed.DownHost}/team/app:1.0");

        var (_, answer, _) = await SendAsync(client, review);

        AssertResponseShape(review, answer);
        Assert.True(Allowed(answer));
        Assert.StartsWith($"image {AdmissionBed.DownHost}/team/app:1.0 not verified:", Assert.Single(Warnings(answer)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hanging_registry_is_answered_within_the_budget_as_could_not_verify_in_time()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Admission:Budget"] = "00:00:01", ["Admission:Mode"] = "Deny" });
        using var client = bed.Client();
        var review = PodCreate("shop", $"{bed.Hanging.Host}/team/app:1.0");
        await SendAsync(client, PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.2")); // the TLS connection and the lookups are warm

        var clock = Stopwatch.StartNew();
        var (status, answer, _) = await SendAsync(client, review);
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, status);
        AssertResponseShape(review, answer);
        Assert.True(Allowed(answer), "a registry that hangs never blocks the cluster, even where the mode is Deny");
        Assert.EndsWith("(could not verify in time)", Assert.Single(Warnings(answer)), StringComparison.Ordinal);
        // The warning comes only from the budget (the registry's own timeouts are 10 s and more). What the budget is for is
        // an answer before the API server's webhook timeout; measured here from the client, so on a loaded machine the
        // margin left to the request's own travel is that timeout's, not a tighter guess.
        Assert.True(clock.Elapsed < AdmissionOptions.WebhookTimeout, $"answered after {clock.Elapsed.TotalMilliseconds:0} ms with a 1 s budget (the webhook's timeout is {AdmissionOptions.WebhookTimeout.TotalSeconds:0} s)");
    }

    [Fact]
    public async Task Oversize_and_malformed_reviews_get_400_and_a_sentence()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Admission:MaxReviewBytes"] = "65536" });
        using var client = bed.Client();
        var valid = PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.2");
        var v1beta1 = valid.DeepClone().AsObject();
        v1beta1["apiVersion"] = "admission.k8s.io/v1beta1";
        var noUid = valid.DeepClone().AsObject();
        ((JsonObject)noUid["request"]!).Remove("uid");
        var badDryRun = valid.DeepClone().AsObject();
        badDryRun["request"]!["dryRun"] = "yes";
        var oversize = valid.DeepClone().AsObject();
        oversize["request"]!["object"]!["metadata"]!["annotations"] = new JsonObject { ["padding"] = new string('x', 70_000) };
        var cases = new (string What, byte[] Body, string ContentType)[]
        {
            ("not JSON", "this is not json"u8.ToArray(), "application/json"),
            ("a JSON array", "[1,2,3]"u8.ToArray(), "application/json"),
            ("admission.k8s.io/v1beta1", Encoding.UTF8.GetBytes(v1beta1.ToJsonString()), "application/json"),
            ("no request.uid", Encoding.UTF8.GetBytes(noUid.ToJsonString()), "application/json"),
            ("dryRun as a string", Encoding.UTF8.GetBytes(badDryRun.ToJsonString()), "application/json"),
            ("form content type", Encoding.UTF8.GetBytes(valid.ToJsonString()), "application/x-www-form-urlencoded"),
            ("over Admission:MaxReviewBytes", Encoding.UTF8.GetBytes(oversize.ToJsonString()), "application/json"),
        };

        foreach (var (what, body, contentType) in cases)
        {
            var (status, _, text) = await SendAsync(client, body, contentType);

            Assert.True(status == HttpStatusCode.BadRequest, $"{what}: {status} {text}");
            Assert.StartsWith("Not an admission review this webhook serves:", text, StringComparison.Ordinal);
        }

        var (ok, answer, _) = await SendAsync(client, valid);
        Assert.Equal(HttpStatusCode.OK, ok);
        AssertResponseShape(valid, answer);
    }

    [Fact]
    public async Task The_documented_scale_review_and_other_kinds_are_allowed_without_a_check()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var scale = Load("review-scale-update.json");
        var configMap = PodCreate("shop", "not an image at all");
        configMap["request"]!["kind"] = JsonNode.Parse("""{"group":"","version":"v1","kind":"ConfigMap"}""");
        var delete = PodCreate("shop", $"{registry.Anonymous}/team/app:9.9.9");
        delete["request"]!["operation"] = "DELETE";

        foreach (var review in new[] { scale, configMap, delete })
        {
            var (status, answer, _) = await SendAsync(client, review);

            Assert.Equal(HttpStatusCode.OK, status);
            var response = AssertResponseShape(review, answer);
            Assert.True(Allowed(answer));
            Assert.Empty(Warnings(answer));
            Assert.Null(response["auditAnnotations"]);
        }

        Assert.Equal("705ab4f5-6393-11e8-b7cc-42010a800002", Uid(scale));
    }

    [Fact]
    public async Task A_namespace_labelled_deny_refuses_with_the_image_the_cause_and_the_fix()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        AdmissionBed.SeedNamespace(bed.Api, "payments", "deny");
        using var client = bed.Client();
        var review = DeploymentUpdate("payments", "checkout", $"{registry.Anonymous}/team/app:1.4.2", $"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.5.0");

        var (_, answer, _) = await SendAsync(client, review);

        var response = AssertResponseShape(review, answer);
        Assert.False(Allowed(answer));
        var message = response["status"]!["message"]!.GetValue<string>();
        Assert.Contains("container web", message, StringComparison.Ordinal);
        Assert.Contains($"image team/app:1.4.3 does not exist in {registry.Anonymous}", message, StringComparison.Ordinal);
        Assert.Contains("Fix: set the tag to 1.4.2.", message, StringComparison.Ordinal);
        Assert.Contains("chatopspull.io/admission=deny", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dry_run_gets_the_same_answer_and_records_nothing()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Admission:DenyNamespaces:0"] = "pay*" });
        AdmissionBed.SeedNamespace(bed.Api, "payments");
        using var client = bed.Client();
        var dryRun = DeploymentUpdate("payments", "checkout", $"{registry.Anonymous}/team/app:1.4.2", $"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.5.0", dryRun: true);
        var warnDryRun = DeploymentUpdate("shop", "web", $"{registry.Anonymous}/team/app:1.4.2", $"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.5.0", dryRun: true);

        var (_, denied, _) = await SendAsync(client, dryRun);
        var (_, warned, _) = await SendAsync(client, warnDryRun);
        await bed.SettleAsync();

        AssertResponseShape(dryRun, denied);
        Assert.False(Allowed(denied));
        AssertResponseShape(warnDryRun, warned);
        Assert.True(Allowed(warned));
        Assert.Single(Warnings(warned));
        Assert.Empty(await bed.Get<FindingStore>().ListOpenAsync(null, null, CancellationToken.None));
        Assert.Empty(bed.Slack.Published);
    }

    [Fact]
    public async Task The_bots_own_namespace_kube_system_and_controller_made_pods_are_not_checked()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Admission:Mode"] = "Deny" });
        using var client = bed.Client();
        var owned = PodCreate("shop", $"{registry.Anonymous}/team/app:0.0.1");
        owned["request"]!["object"]!["metadata"]!["ownerReferences"] = JsonNode.Parse("""
            [{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9c","uid":"5c9f0e1a-0000-4000-8000-000000000001","controller":true,"blockOwnerDeletion":true}]
            """);

        foreach (var review in new[] { PodCreate("chatopspull", $"{registry.Anonymous}/team/app:0.0.1"), PodCreate("kube-system", $"{registry.Anonymous}/team/app:0.0.1"), owned })
        {
            var (_, answer, _) = await SendAsync(client, review);

            AssertResponseShape(review, answer);
            Assert.True(Allowed(answer));
            Assert.Empty(Warnings(answer));
        }
    }

    [Fact]
    public async Task A_node_credential_provider_registry_without_a_secret_cannot_be_verified_from_here_and_is_no_failure()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Admission:Mode"] = "Deny" });
        using var client = bed.Client();
        var review = PodCreate("shop", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.3");

        var (_, answer, _) = await SendAsync(client, review);

        var response = AssertResponseShape(review, answer);
        Assert.True(Allowed(answer));
        Assert.Empty(Warnings(answer));
        var note = response["auditAnnotations"]!["unverified"]!.GetValue<string>();
        Assert.Contains("Amazon ECR credential provider", note, StringComparison.Ordinal);
        Assert.EndsWith("(cannot verify from here)", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_images_that_cannot_be_pulled_stay_within_the_documented_warning_limits()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var longPath = string.Join('/', Enumerable.Range(0, 6).Select(i => $"segment{i:00}-of-a-long-repository-path"));
        var review = PodCreate("shop", $"{registry.Anonymous}/{longPath}:1.0", spec: s =>
        {
            var containers = (JsonArray)s["containers"]!;
            for (var i = 1; i < 12; i++)
            {
                containers.Add(new JsonObject { ["name"] = $"c{i}", ["image"] = $"{registry.Anonymous}/team/app:0.{i}.0" });
            }
        });

        var (_, answer, _) = await SendAsync(client, review);

        AssertResponseShape(review, answer);
        var warnings = Warnings(answer);
        Assert.Equal(Core.Prevention.AdmissionWarnings.MaxCount, warnings.Count);
        Assert.Equal("chatopspull: 5 more images cannot be pulled; see the bot's card", warnings[^1]);
        Assert.Contains(warnings, w => w.Contains('…', StringComparison.Ordinal) && w.Length <= Core.Prevention.AdmissionWarnings.PreferredLength + 40);
        Assert.All(warnings.Where(w => !w.Contains(longPath[..20], StringComparison.Ordinal) && !w.Contains('…', StringComparison.Ordinal)),
            w => Assert.InRange(w.Length, 1, Core.Prevention.AdmissionWarnings.PreferredLength));
    }

    [Fact]
    public async Task A_thousand_reviews_of_one_image_cost_the_registry_at_most_three_requests()
    {
        // The promise is one check per cache window (30 s by default, on the real clock): the longest windows allowed, so
        // a thousand TLS reviews on a loaded machine still fall in one window.
        await using var bed = await AdmissionBed.StartAsync(registry, new Dictionary<string, string>
        {
            ["Registry:CacheWindow"] = "01:00:00",
            ["Registry:ProbeReuseWindow"] = "00:05:00",
        });
        using var client = bed.Client();
        var before = await registry.AnonymousRequestCountAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async _ =>
        {
            var review = PodCreate("shop", $"{registry.Anonymous}/storm/app:1.0");
            var (status, answer, _) = await SendAsync(client, review);
            return (status, answer, Uid(review));
        }));
        var requests = await registry.AnonymousRequestsSinceAsync(before);

        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.OK, a.status);
            Assert.Equal(a.Item3, a.answer!["response"]!["uid"]!.GetValue<string>());
            Assert.True(Allowed(a.answer));
        });
        Assert.InRange(requests.Count, 1, 3);
    }

    [Fact]
    public async Task The_admission_port_serves_only_the_webhook_and_the_webhook_only_there()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var https = bed.Client();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{bed.HttpPort}/") };
        var review = PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.2");

        var page = await https.GetAsync("/");
        var metricsOnAdmissionPort = await https.GetAsync("/metrics");
        var (overHttp, _, _) = await SendAsync(http, review);
        var health = await https.GetAsync("/healthz");
        var (overHttps, answer, _) = await SendAsync(https, review);

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnAdmissionPort.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, overHttp);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, overHttps);
        AssertResponseShape(review, answer);
        Observability.PrometheusScrape? scrape = null;
        await Eventually.HoldsAsync(
            () =>
            {
                scrape = Observability.PrometheusScrape.TakeAsync(http).GetAwaiter().GetResult();
                return scrape.Value("chatopspull_admission_reviews", ("outcome", "allowed")) >= 1;
            },
            TimeSpan.FromSeconds(30),
            () => $"no allowed review counted on /metrics: {scrape}");
    }

    [Fact]
    public async Task A_warned_workload_change_posts_a_prevented_card_with_the_set_tag_button_and_a_clean_change_resolves_it()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var client = bed.Client();
        var good = $"{registry.Anonymous}/team/app:1.4.2";
        var bad = $"{registry.Anonymous}/team/app:1.4.3";
        var brokenSidecar = $"{registry.Anonymous}/team/app:0.0.9"; // missing, but unchanged by this update: not checked

        var (_, warned, _) = await SendAsync(client, DeploymentUpdate("shop", "web", good, bad, brokenSidecar, user: "alice@example.com"));
        await bed.SettleAsync();

        Assert.Single(Warnings(warned));
        var finding = Assert.Single(await bed.Get<FindingStore>().ListOpenAsync(FindingSource.Admission, null, CancellationToken.None));
        Assert.Equal(("web", FindingKind.ImageMissing), (finding.Container, finding.Kind));
        var (channel, card) = Assert.Single(bed.Slack.Published);
        Assert.Equal(AdmissionBed.Channel, channel);
        Assert.Equal($"finding:{finding.Id}", card.Key);
        Assert.StartsWith("Warned at admission: Image or tag gone from the registry in shop/deployment/web", card.Title, StringComparison.Ordinal);
        Assert.Contains(card.Facts, f => f.Label == "Changed by" && f.Value == "alice@example.com");
        Assert.Contains(card.Facts, f => f.Label == "Change" && f.Value == $"UPDATE: {good} → {bad}");
        Assert.Equal(["Set tag to 1.4.2", "Set tag to 1.5.0"], card.Actions.Select(a => a.Label));
        var button = card.Actions[0];
        Assert.Equal(CardVerb.Request, button.Payload.Verb);
        Assert.Equal(finding.Id, button.Payload.Target);
        Assert.Equal($"SetImageTag:container=web,image={registry.Anonymous}/team/app:1.4.2", button.Payload.Argument);

        var (_, clean, _) = await SendAsync(client, DeploymentUpdate("shop", "web", bad, good, brokenSidecar));
        await bed.SettleAsync();

        Assert.Empty(Warnings(clean));
        Assert.Empty(await bed.Get<FindingStore>().ListOpenAsync(null, null, CancellationToken.None));
        var resolved = bed.Slack.Published.Last().Card;
        Assert.Equal(card.Key, resolved.Key);
        Assert.StartsWith("Resolved: Warned at admission", resolved.Title, StringComparison.Ordinal);
        Assert.Empty(resolved.Actions);
    }

    [Fact]
    public async Task Under_the_observe_profile_the_prevented_card_shows_the_command_and_no_button()
    {
        await using var bed = await AdmissionBed.StartAsync(registry, new() { ["Bot:Profile"] = "Observe" });
        using var client = bed.Client();

        await SendAsync(client, DeploymentUpdate("shop", "web", $"{registry.Anonymous}/team/app:1.4.2", $"{registry.Anonymous}/team/app:1.4.3", $"{registry.Anonymous}/team/app:1.5.0"));
        await bed.SettleAsync();

        var (_, card) = Assert.Single(bed.Slack.Published);
        Assert.Empty(card.Actions);
        var commands = Assert.Single(card.Sections, s => s.Heading == "Fix by hand: Set tag to 1.4.2");
        Assert.Equal($"kubectl -n shop set image deployment/web web={registry.Anonymous}/team/app:1.4.2", commands.Text);
        Assert.Contains(card.Sections, s => s.Text == FixOffer.ObserveSentence("prod"));
    }
}
