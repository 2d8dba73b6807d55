using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Admission;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Simulation.KubernetesApi;
using ChatOpsPull.Tests.Registry;
using static ChatOpsPull.Tests.Prevention.AdmissionReviews;

namespace ChatOpsPull.Tests.Prevention;

/// <summary>
/// Where the admission port's certificate comes from. Self-managed: each replica makes its CA at start and adds it to the
/// caBundle of the bot's own ValidatingWebhookConfiguration in the (fake) API server, with a JSON patch on that one object
/// and nothing else; a client trusting only that caBundle, as the API server does, gets answers from both replicas.
/// Files: a renewed certificate (cert-manager rewriting the Secret) is served without a restart.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class AdmissionCertificateTests(RegistryFixture registry)
{
    [Fact]
    public async Task Each_replica_puts_its_own_ca_into_the_webhook_configuration_and_is_trusted_through_it()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        AdmissionBed.SeedNamespace(api, "shop");
        api.Seed(WebhookConfiguration());
        await using var first = await AdmissionBed.StartAsync(registry, selfManaged: true, api: api);
        await using var second = await AdmissionBed.StartAsync(registry, selfManaged: true, api: api);

        IReadOnlyList<X509Certificate2> bundle = [];
        await Eventually.HoldsAsync(
            () => (bundle = CaBundle(api)).Count == 2,
            TimeSpan.FromSeconds(20),
            () => $"the caBundle holds {bundle.Count} certificates");

        foreach (var bed in new[] { first, second })
        {
            using var client = TrustingClient.For(bed.HttpsAddress, [.. bundle]);
            var review = PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.3");
            var (status, answer, _) = await SendAsync(client, review);

            Assert.Equal(HttpStatusCode.OK, status);
            AssertResponseShape(review, answer);
            Assert.Single(Warnings(answer));
        }

        Assert.All(bundle, ca => Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority));
        var writes = api.Requests.Where(r => r.Contains("validatingwebhookconfigurations", StringComparison.Ordinal) && !r.StartsWith("GET ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(writes);
        Assert.All(writes, w => Assert.StartsWith("PATCH /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/chatopspull", w, StringComparison.Ordinal));
        var stored = api.Store.Get(ResourceType.Of("validatingwebhookconfigurations"), null, "chatopspull")!;
        Assert.Equal(WebhookConfiguration()["webhooks"]![0]!["rules"]!.ToJsonString(), stored["webhooks"]![0]!["rules"]!.ToJsonString());
        Assert.Equal("Ignore", stored["webhooks"]![0]!["failurePolicy"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_client_that_trusts_another_ca_is_refused_the_handshake()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var other = TestCertificates.Create();
        using var client = TrustingClient.For(bed.HttpsAddress, other.Ca);

        await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync(client, PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.2")));
    }

    [Fact]
    public async Task A_renewed_certificate_file_is_served_without_a_restart()
    {
        await using var bed = await AdmissionBed.StartAsync(registry);
        using var renewed = TestCertificates.Create();
        var certificate = bed.Get<AdmissionCertificate>();
        var before = certificate.Current!.Thumbprint;

        File.Copy(renewed.CertificateFile, bed.Certificates!.CertificateFile, overwrite: true);
        File.Copy(renewed.KeyFile, bed.Certificates.KeyFile, overwrite: true);
        File.SetLastWriteTimeUtc(bed.Certificates.CertificateFile, DateTime.UtcNow.AddSeconds(5));

        await Eventually.HoldsAsync(() => certificate.Current?.Thumbprint != before, TimeSpan.FromSeconds(30), () => "the certificate was not reloaded");
        using var client = TrustingClient.For(bed.HttpsAddress, renewed.Ca);
        var review = PodCreate("shop", $"{registry.Anonymous}/team/app:1.4.2");
        var (status, answer, _) = await SendAsync(client, review);
        Assert.Equal(HttpStatusCode.OK, status);
        AssertResponseShape(review, answer);
    }

    /// <summary>The webhook configuration of manifests/components/admission, as it is before the bot fills its caBundle.</summary>
    private static JsonObject WebhookConfiguration() => (JsonObject)JsonNode.Parse("""
        {
          "apiVersion": "admissionregistration.k8s.io/v1",
          "kind": "ValidatingWebhookConfiguration",
          "metadata": {"name": "chatopspull"},
          "webhooks": [
            {
              "name": "images.chatopspull.io",
              "admissionReviewVersions": ["v1"],
              "sideEffects": "NoneOnDryRun",
              "failurePolicy": "Ignore",
              "timeoutSeconds": 3,
              "clientConfig": {"service": {"namespace": "chatopspull", "name": "chatopspull", "path": "/admission/validate", "port": 443}},
              "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"], "scope": "Namespaced"}]
            }
          ]
        }
        """)!;

    private static IReadOnlyList<X509Certificate2> CaBundle(FakeKubernetesApi api)
    {
        var stored = api.Store.Get(ResourceType.Of("validatingwebhookconfigurations"), null, "chatopspull");
        var bundle = stored?["webhooks"]?[0]?["clientConfig"]?["caBundle"]?.GetValue<string>();
        return bundle is null ? [] : WebhookCaBundle.Read(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Convert.FromBase64String(bundle))));
    }
}
