using ChatOpsPull.Core.Diagnoses;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Tests.Incidents;

public sealed class IncidentJsonTests
{
    private static Diagnosis Sample(string summary) =>
        new(PullCause.ImageNotFound, 0.9, summary, [new Evidence("registry", EvidenceOutcome.Failed, "manifest unknown")], "not found", [])
        {
            DiagnosedAt = new DateTimeOffset(2026, 12, 6, 19, 0, 0, TimeSpan.Zero),
        };

    [Fact]
    public void A_diagnosis_read_back_is_written_as_the_text_it_was_read_from()
    {
        var text = IncidentJson.Serialize(Sample("tag 2.0.0 does not exist " + Guid.NewGuid()));

        var read = IncidentJson.Deserialize(text)!;

        Assert.Equal(text, IncidentJson.Serialize(read));
        Assert.Equal(text, IncidentJson.Serialize(IncidentJson.Deserialize(text)!));
    }

    [Fact]
    public void A_changed_copy_of_a_diagnosis_is_written_with_its_change()
    {
        var read = IncidentJson.Deserialize(IncidentJson.Serialize(Sample("first " + Guid.NewGuid())))!;

        var changed = read with { Summary = "second", Confidence = 0.5 };
        var again = IncidentJson.Deserialize(IncidentJson.Serialize(changed))!;

        Assert.Equal("second", again.Summary);
        Assert.Equal(0.5, again.Confidence);
        Assert.StartsWith("first ", read.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Different_texts_read_one_after_another_give_their_own_diagnoses()
    {
        var texts = Enumerable.Range(0, IncidentJson.ReadLimit + 10)
            .Select(i => IncidentJson.Serialize(Sample($"diagnosis {i} {Guid.NewGuid()}")))
            .ToList();

        foreach (var text in texts.Concat(texts))
        {
            var read = IncidentJson.Deserialize(text)!;
            Assert.Equal(text, IncidentJson.Serialize(read));
            Assert.Equal(text.Split('"').First(p => p.StartsWith("diagnosis ", StringComparison.Ordinal)), read.Summary);
            Assert.Single(read.Evidence);
        }
    }

    /// <summary>Every member a stored diagnosis can hold, set: a type the source-generated context missed would throw.</summary>
    private static Diagnosis Full() =>
        new(
            PullCause.AuthFailed,
            0.75,
            "the pull secret regcred is expired",
            [
                new Evidence("registry manifest", EvidenceOutcome.Failed, "401 unauthorized", TimeSpan.FromMilliseconds(12.5)),
                new Evidence("pull secret", EvidenceOutcome.Info, "regcred, docker config", null),
                new Evidence("DNS registry.example.com", EvidenceOutcome.Passed, "10.0.0.7"),
                new Evidence("node", EvidenceOutcome.Skipped, "no access"),
            ],
            "Failed to pull image \"registry.example.com/team/app:1.4.2\": 401 Unauthorized",
            [
                new RemediationPlan(RemediationKind.RefreshCredentials, "shop", "Deployment", "web", "Refresh regcred", "Writes the secret again.", RemediationRisk.Medium, new Dictionary<string, string> { ["secretName"] = "regcred", ["registry"] = "registry.example.com" })
                {
                    ManagedBy = new WorkloadOwner(OwnerTool.FluxHelmRelease, "web", "flux-system", "label helm.toolkit.fluxcd.io/name", "HelmRelease", Certain: false),
                },
                new RemediationPlan(RemediationKind.AttachPullSecretToServiceAccount, "shop", "ServiceAccount", "default", "Attach regcred", "Adds it.", RemediationRisk.Low, new Dictionary<string, string>()),
            ])
        {
            DiagnosedAt = new DateTimeOffset(2026, 12, 6, 19, 0, 0, 250, TimeSpan.FromHours(1)),
            Withheld = [new WithheldFix(RemediationKind.RestartWorkload, "Restart web", "deployment/web is paused")],
            Owner = new WorkloadOwner(OwnerTool.ArgoCd, "shop", null, "annotation argocd.argoproj.io/tracking-id"),
        };

    /// <summary>The options rows were written with before the metadata was source-generated (reflection).</summary>
    private static readonly JsonSerializerOptions ReflectionOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    [Fact]
    public void A_diagnosis_is_written_byte_for_byte_as_the_reflection_serializer_wrote_rows_before()
    {
        var diagnosis = Full();

        Assert.Equal(JsonSerializer.Serialize(diagnosis, ReflectionOptions), IncidentJson.Serialize(diagnosis));
    }

    [Fact]
    public void A_row_written_before_the_source_generated_metadata_reads_back_whole()
    {
        var old = JsonSerializer.Serialize(Full(), ReflectionOptions) + " ";

        var read = IncidentJson.Deserialize(old)!;

        Assert.Equal(JsonSerializer.Serialize(Full(), ReflectionOptions), JsonSerializer.Serialize(read, ReflectionOptions));
        Assert.Equal(PullCause.AuthFailed, read.Cause);
        Assert.Equal(TimeSpan.FromMilliseconds(12.5), read.Evidence[0].Duration);
        Assert.Equal("registry.example.com", read.Remediations[0].Parameters["registry"]);
        Assert.Equal(OwnerTool.FluxHelmRelease, read.Remediations[0].ManagedBy!.Tool);
        Assert.False(read.Remediations[0].ManagedBy!.Certain);
        Assert.Equal(RemediationKind.RestartWorkload, Assert.Single(read.Withheld).Kind);
        Assert.Equal(OwnerTool.ArgoCd, read.Owner!.Tool);
    }

    [Fact]
    public void A_literal_stored_row_reads_back()
    {
        const string stored = """{"cause":"image_not_found","confidence":0.9,"summary":"tag 2.0.0 does not exist","evidence":[{"check":"registry","outcome":"failed","detail":"manifest unknown","duration":"00:00:00.0125000"}],"rawMessage":"not found","remediations":[{"kind":"set_image_tag","namespace":"shop","workloadKind":"Deployment","workloadName":"web","title":"Set tag to 1.4.2","description":"d","risk":"high","parameters":{"container":"web","image":"team/app:1.4.2"},"managedBy":null,"key":"ignored"}],"diagnosedAt":"2026-12-06T19:00:00+00:00","withheld":[],"owner":null,"confidenceLabel":"high"}""";

        var read = IncidentJson.Deserialize(stored)!;

        Assert.Equal(PullCause.ImageNotFound, read.Cause);
        Assert.Equal(EvidenceOutcome.Failed, Assert.Single(read.Evidence).Outcome);
        Assert.Equal(TimeSpan.FromMilliseconds(12.5), read.Evidence[0].Duration);
        Assert.Equal(RemediationKind.SetImageTag, Assert.Single(read.Remediations).Kind);
        Assert.Equal(RemediationRisk.High, read.Remediations[0].Risk);
        Assert.Equal("team/app:1.4.2", read.Remediations[0].Parameters["image"]);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 19, 0, 0, TimeSpan.Zero), read.DiagnosedAt);
    }

    [Fact]
    public void A_type_the_generated_metadata_does_not_know_fails_instead_of_falling_back_to_reflection()
    {
        Assert.Throws<NotSupportedException>(() => JsonSerializer.Serialize(new Uri("https://example.com"), IncidentJson.Options));
    }

    [Fact]
    public void Empty_text_is_no_diagnosis()
    {
        Assert.Null(IncidentJson.Deserialize(null));
        Assert.Null(IncidentJson.Deserialize(string.Empty));
    }
}
