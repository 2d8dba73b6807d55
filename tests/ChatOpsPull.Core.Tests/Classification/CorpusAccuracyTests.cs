using System.Globalization;
using ChatOpsPull.Core.Classification;
using ChatOpsPull.Core.Failures;
using Xunit.Abstractions;

namespace ChatOpsPull.Core.Tests.Classification;

/// <summary>
/// The classifier against the corpus of real messages it was not written from (issue 14). Measured as a new user
/// measures it: the message alone, without the reason field (the figures with the reason are printed beside).
/// The tuning part prints its misses, for tuning; the evaluation part prints aggregate figures only, never a message,
/// so that no rule is ever adjusted while looking at an evaluation miss.
/// </summary>
public sealed class CorpusAccuracyTests(ITestOutputHelper output)
{
    /// <summary>Issue 14's target for overall accuracy on the evaluation part, measured against <c>expected</c>.</summary>
    private const double RequiredAccuracy = 0.97;

    /// <summary>Issue 14's target recall for every cause on the evaluation part.</summary>
    private const double RequiredRecall = 0.90;

    // The floors below are what was reached against `expected` under issue 14's labelling convention (the most specific
    // cause the message text supports; corpus/README.md), set so that one message fewer right fails them. When the
    // corpus was relabelled (before any classifier run on it) the classifier stood at 392 of 407 tuning, 240 of 252
    // evaluation; after the seventh round's rules (GHCR's bare DENIED, ECR's and GitLab's denials and "does not have
    // permission" read as the ambiguous access_denied, tuned on the tuning part only) at 406 of 407 and 249 of 252.
    // Against the thread's finding (the labels before the convention; printed, not asserted) the same classifier stands
    // at 359 of 407 and 221 of 252 (366 and 223 before the seventh round).

    /// <summary>The evaluation accuracy reached on the whole evaluation part, a.jsonl to h.jsonl: 249 of 252 = 98.8%.</summary>
    private const double ReachedAccuracy = 0.988;

    /// <summary>The evaluation accuracy reached on a.jsonl to g.jsonl (242 of 245 = 98.8%): new data cannot hide a slide on the old.</summary>
    private const double ReachedAccuracyOnCollectionsAToG = 0.987;

    /// <summary>The evaluation accuracy reached on a.jsonl to f.jsonl (232 of 235 = 98.7%).</summary>
    private const double ReachedAccuracyOnCollectionsAToF = 0.987;

    /// <summary>The evaluation accuracy reached on a.jsonl to d.jsonl (177 of 180 = 98.3%).</summary>
    private const double ReachedAccuracyOnCollectionsAToD = 0.983;

    /// <summary>The evaluation accuracy reached on a.jsonl to c.jsonl (164 of 167 = 98.2%).</summary>
    private const double ReachedAccuracyOnCollectionsAToC = 0.982;

    /// <summary>The evaluation accuracy reached on the first collection, a.jsonl and b.jsonl (132 of 134 = 98.5%).</summary>
    private const double ReachedAccuracyOnFirstCollection = 0.985;

    /// <summary>The tuning accuracy reached (406 of 407 = 99.8%): the rules may not slide back below it.</summary>
    private const double ReachedTuningAccuracy = 0.997;

    /// <summary>
    /// A cause with fewer evaluation messages than this is reported (its figures, and whether it would pass) but not
    /// asserted one by one: with one or two messages a single doubtful label decides 50–100% recall. Those messages
    /// still count, fully, in the overall accuracy.
    /// </summary>
    private const int MinimumSupportForRecall = 3;

    [Fact]
    public void Corpus_and_split_are_well_formed_and_the_split_keeps_a_source_in_one_part()
    {
        var all = MessageCorpus.All;
        Assert.True(all.Count >= 300, $"{all.Count} messages");
        Assert.True(all.Select(m => m.Source).Distinct(StringComparer.Ordinal).Count() >= 100);
        Assert.All(all, m => Assert.False(string.IsNullOrWhiteSpace(m.Message), $"{m.File}:{m.Line}"));
        Assert.Contains(all, m => m.Found != m.Expected);

        var sources = all.Select(m => m.Source).Distinct(StringComparer.Ordinal).ToList();
        var evaluationSources = sources.Count(s => MessageCorpus.Split[s]);
        Assert.True(evaluationSources >= sources.Count * 0.30, $"{evaluationSources} of {sources.Count} sources in evaluation");
        Assert.All(all.GroupBy(m => m.Source), g => Assert.Single(g.Select(m => m.Evaluation).Distinct()));

        // No message used for tuning before the corpus existed is in the evaluation part.
        var fixtureSources = MessageFixtures.All.Select(f => f.Source).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(MessageCorpus.Evaluation, m => fixtureSources.Contains(m.Source));
    }

    [Fact]
    public void Tuning_part_figures_and_misses()
    {
        var (withoutReason, withReason, misses) = Measure(MessageCorpus.Tuning, listMisses: true);
        output.WriteLine(withoutReason.Table($"TUNING part ({MessageCorpus.Tuning.Count} messages), message only:"));
        output.WriteLine(withReason.Table("TUNING part, message and reason:"));
        output.WriteLine("tuning misses (message only):");
        misses.ForEach(output.WriteLine);
        var (threadFinding, _, _) = Measure(MessageCorpus.Tuning, listMisses: false, againstThreadFinding: true);
        output.WriteLine(threadFinding.Table(ThreadFindingTitle($"TUNING part ({MessageCorpus.Tuning.Count} messages)")));

        // A floor keeps the rules from sliding back (measured against expected: what the message text supports).
        Assert.True(withoutReason.Accuracy >= ReachedTuningAccuracy, withoutReason.Table("tuning part"));
    }

    [Fact]
    public void Evaluation_part_holds_the_accuracy_reached_and_prints_issue_14s_targets()
    {
        var evaluation = MessageCorpus.Evaluation;
        var (withoutReason, withReason, _) = Measure(evaluation, listMisses: false);
        output.WriteLine(withoutReason.Table($"EVALUATION part ({evaluation.Count} messages, {evaluation.Select(m => m.Source).Distinct(StringComparer.Ordinal).Count()} sources), message only:"));
        output.WriteLine(withReason.Table("EVALUATION part, message and reason:"));
        var (threadFinding, _, _) = Measure(evaluation, listMisses: false, againstThreadFinding: true);
        output.WriteLine(threadFinding.Table(ThreadFindingTitle($"EVALUATION part ({evaluation.Count} messages)")));
        var (firstCollection, _, _) = Measure([.. evaluation.Where(m => m.File is "a.jsonl" or "b.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, first collection only (a.jsonl, b.jsonl), message only: {firstCollection.Right} of {firstCollection.Count} = {firstCollection.Accuracy:P1}"));
        var (aToC, _, _) = Measure([.. evaluation.Where(m => m.File is "a.jsonl" or "b.jsonl" or "c.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, a.jsonl to c.jsonl, message only: {aToC.Right} of {aToC.Count} = {aToC.Accuracy:P1}"));
        var (fourth, _, _) = Measure([.. evaluation.Where(m => m.File is "d.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, d.jsonl only, message only: {fourth.Right} of {fourth.Count} = {fourth.Accuracy:P1}"));
        var (aToD, _, _) = Measure([.. evaluation.Where(m => m.File is "a.jsonl" or "b.jsonl" or "c.jsonl" or "d.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, a.jsonl to d.jsonl, message only: {aToD.Right} of {aToD.Count} = {aToD.Accuracy:P1}"));
        var (fifth, _, _) = Measure([.. evaluation.Where(m => m.File is "e.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, e.jsonl only, message only: {fifth.Right} of {fifth.Count} = {fifth.Accuracy:P1}"));
        var (blind, _, _) = Measure([.. evaluation.Where(m => m.File is "f.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, f.jsonl only (blind batch), message only: {blind.Right} of {blind.Count} = {blind.Accuracy:P1}"));
        var (aToF, _, _) = Measure([.. evaluation.Where(m => m.File is not ("g.jsonl" or "h.jsonl"))], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, a.jsonl to f.jsonl, message only: {aToF.Right} of {aToF.Count} = {aToF.Accuracy:P1}"));
        var (fresh, _, _) = Measure([.. evaluation.Where(m => m.File is "g.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, g.jsonl only (fresh batch, labelled before the classifier ran on it), message only: {fresh.Right} of {fresh.Count} = {fresh.Accuracy:P1}"));
        var (aToG, _, _) = Measure([.. evaluation.Where(m => m.File is not "h.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, a.jsonl to g.jsonl, message only: {aToG.Right} of {aToG.Count} = {aToG.Accuracy:P1}"));
        var (blindH, _, _) = Measure([.. evaluation.Where(m => m.File is "h.jsonl")], listMisses: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"EVALUATION part, h.jsonl only (blind batch, collected before the classifier ran or was read that session), message only: {blindH.Right} of {blindH.Count} = {blindH.Accuracy:P1}"));

        var failures = new List<string>();
        var regressions = new List<string>();
        foreach (var (name, scores) in new[] { ("message only", withoutReason), ("message and reason", withReason) })
        {
            if (scores.Accuracy < RequiredAccuracy)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: accuracy {scores.Accuracy:P1} < {RequiredAccuracy:P0}"));
            }

            if (scores.Accuracy < ReachedAccuracy)
            {
                regressions.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: accuracy {scores.Accuracy:P1} fell below the {ReachedAccuracy:P1} already reached"));
            }

            foreach (var cause in PullCauseNames.All)
            {
                var support = scores.Support(cause);
                if (scores.Recall(cause) is not { } recall || recall >= RequiredRecall)
                {
                    continue;
                }

                var line = string.Create(CultureInfo.InvariantCulture, $"{name}: {cause.ToSnakeCase()} recall {recall:P0} on {support} message(s)");
                if (support >= MinimumSupportForRecall)
                {
                    failures.Add(line);
                }
                else
                {
                    output.WriteLine($"reported, not asserted (fewer than {MinimumSupportForRecall} evaluation messages): {line}");
                }
            }
        }

        if (aToG.Accuracy < ReachedAccuracyOnCollectionsAToG)
        {
            regressions.Add(string.Create(CultureInfo.InvariantCulture, $"a.jsonl to g.jsonl, message only: accuracy {aToG.Accuracy:P1} fell below the {ReachedAccuracyOnCollectionsAToG:P1} already reached"));
        }

        if (aToF.Accuracy < ReachedAccuracyOnCollectionsAToF)
        {
            regressions.Add(string.Create(CultureInfo.InvariantCulture, $"a.jsonl to f.jsonl, message only: accuracy {aToF.Accuracy:P1} fell below the {ReachedAccuracyOnCollectionsAToF:P1} already reached"));
        }

        if (aToD.Accuracy < ReachedAccuracyOnCollectionsAToD)
        {
            regressions.Add(string.Create(CultureInfo.InvariantCulture, $"a.jsonl to d.jsonl, message only: accuracy {aToD.Accuracy:P1} fell below the {ReachedAccuracyOnCollectionsAToD:P1} already reached"));
        }
        if (aToC.Accuracy < ReachedAccuracyOnCollectionsAToC)
        {
            regressions.Add(string.Create(CultureInfo.InvariantCulture, $"a.jsonl to c.jsonl, message only: accuracy {aToC.Accuracy:P1} fell below the {ReachedAccuracyOnCollectionsAToC:P1} already reached"));
        }

        if (firstCollection.Accuracy < ReachedAccuracyOnFirstCollection)
        {
            regressions.Add(string.Create(CultureInfo.InvariantCulture, $"first collection, message only: accuracy {firstCollection.Accuracy:P1} fell below the {ReachedAccuracyOnFirstCollection:P1} already reached"));
        }

        output.WriteLine(failures.Count == 0
            ? "issue 14 targets met: assert RequiredAccuracy and every recall instead of the floor"
            : string.Create(CultureInfo.InvariantCulture, $"issue 14 targets (accuracy >= {RequiredAccuracy:P0}, every cause >= {RequiredRecall:P0} recall) NOT MET yet:\n") + string.Join('\n', failures));
        Assert.True(
            regressions.Count == 0,
            string.Create(CultureInfo.InvariantCulture, $"Regression on the evaluation part (issue 14's target is {RequiredAccuracy:P0} accuracy and {RequiredRecall:P0} recall per cause; {ReachedAccuracy:P1} was reached):\n") + string.Join('\n', regressions));
    }

    [Fact]
    public void No_message_naming_a_pull_reason_is_unknown()
    {
        string[] reasons = ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "ErrImageNotEnsured", "ImageInspectError", "Back-off pulling image"];
        var named = MessageCorpus.All.Select(m => m.Message).Concat(MessageFixtures.All.Select(f => f.Message))
            .Where(m => reasons.Any(r => m.Contains(r, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        Assert.NotEmpty(named);
        var unknown = named.Count(m => MessageClassifier.Classify(m).Cause == PullCause.Unknown);
        Assert.Equal(0, unknown);
    }

    /// <summary>Scores against <see cref="CorpusMessage.Expected"/> (what the text supports), or against the thread's finding.</summary>
    private static (CauseScores WithoutReason, CauseScores WithReason, List<string> Misses) Measure(IReadOnlyList<CorpusMessage> messages, bool listMisses, bool againstThreadFinding = false)
    {
        var withoutReason = new CauseScores();
        var withReason = new CauseScores();
        var misses = new List<string>();
        foreach (var m in messages)
        {
            var label = againstThreadFinding ? m.Found : m.Expected;
            var alone = MessageClassifier.Classify(m.Message);
            withoutReason.Add(label, alone.Cause);
            withReason.Add(label, MessageClassifier.Classify(m.Message, m.Reason).Cause);
            if (listMisses && alone.Cause != label)
            {
                misses.Add($"  {m.File}:{m.Line} expected {m.Expected.ToSnakeCase()}, got {alone.Cause.ToSnakeCase()} <- {Shorten(m.Message)}");
            }
        }

        return (withoutReason, withReason, misses);
    }

    /// <summary>
    /// The title of a table scored against what each source thread found (the <c>found</c> field where the line has one, else
    /// <c>expected</c>): the labels before issue 14's labelling convention, beside the figures that convention measures.
    /// </summary>
    private static string ThreadFindingTitle(string part) =>
        $"{part}, message only, against the THREAD'S FINDING (found where present, else expected; the labels before the text convention, not the target):";

    private static string Shorten(string message)
    {
        var oneLine = message.ReplaceLineEndings(" ");
        return oneLine.Length <= 200 ? oneLine : oneLine[..200] + "…";
    }
}
