using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Prevention;
using ChatOpsPull.Registry;
using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Prevention;

public sealed class FindingStoreTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static FindingObservation Seen(params Evidence[] evidence) => new(
        FindingSource.Sweep, FindingKind.ImageMissing, "prod", "shop", "Deployment", "web", "app", "registry.example:5000/team/app:1.2",
        "tag 1.2 of team/app is gone", null, evidence, [], null);

    private static async Task<FindingStore> OpenAsync(TestStorage storage) =>
        new(await storage.OpenMigratedAsync(FindingStore.Migration), TimeProvider.System);

    [Fact]
    public async Task A_finding_seen_again_through_reused_registry_answers_is_unchanged_so_its_card_is_not_sent_again()
    {
        using var storage = TestStorage.Sqlite();
        var store = await OpenAsync(storage);
        var asked = Seen(
            new Evidence("DNS registry.example", EvidenceOutcome.Passed, "resolves to 10.0.0.7", TimeSpan.FromMilliseconds(2)),
            new Evidence(RegistryCheckReport.ApiRootCheck, EvidenceOutcome.Passed, "200: the API root asks for no authentication"),
            new Evidence("tags team/app", EvidenceOutcome.Info, "tags: 1.1, 1.3"));
        var reused = Seen(
            new Evidence("network probe", EvidenceOutcome.Info, RegistryReuseNote.Line("registry.example:5000 was probed by an earlier check", Window) + "; the steps below are from then"),
            new Evidence("DNS registry.example", EvidenceOutcome.Passed, "resolves to 10.0.0.7", TimeSpan.FromMilliseconds(9)),
            new Evidence(RegistryCheckReport.ApiRootCheck, EvidenceOutcome.Passed, "200: the API root asks for no authentication" + RegistryReuseNote.Suffix("answered to an earlier check", Window)),
            new Evidence("tags team/app", EvidenceOutcome.Info, RegistryReuseNote.Line("listed for an earlier check of team/app", Window)),
            new Evidence("tags team/app", EvidenceOutcome.Info, "tags: 1.1, 1.3"));

        Assert.Equal(FindingChange.Opened, (await store.RecordAsync(asked, CancellationToken.None)).Change);
        Assert.Equal(FindingChange.Unchanged, (await store.RecordAsync(reused, CancellationToken.None)).Change);
        Assert.Equal(FindingChange.Unchanged, (await store.RecordAsync(asked, CancellationToken.None)).Change);
    }

    [Fact]
    public async Task A_finding_whose_evidence_says_something_new_is_updated_whether_or_not_answers_were_reused()
    {
        using var storage = TestStorage.Sqlite();
        var store = await OpenAsync(storage);
        await store.RecordAsync(Seen(new Evidence("tags team/app", EvidenceOutcome.Info, "tags: 1.1, 1.3")), CancellationToken.None);

        var (_, change) = await store.RecordAsync(
            Seen(
                new Evidence("tags team/app", EvidenceOutcome.Info, RegistryReuseNote.Line("listed for an earlier check of team/app", Window)),
                new Evidence("tags team/app", EvidenceOutcome.Info, "tags: 1.1, 1.4")),
            CancellationToken.None);

        Assert.Equal(FindingChange.Updated, change);
    }
}
