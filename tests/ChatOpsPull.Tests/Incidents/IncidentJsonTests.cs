using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
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

    [Fact]
    public void Empty_text_is_no_diagnosis()
    {
        Assert.Null(IncidentJson.Deserialize(null));
        Assert.Null(IncidentJson.Deserialize(string.Empty));
    }
}
