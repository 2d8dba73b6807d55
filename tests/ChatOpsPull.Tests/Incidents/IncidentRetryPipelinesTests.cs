using ChatOpsPull.Approvals;
using ChatOpsPull.Incidents;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Polly.Registry;

namespace ChatOpsPull.Tests.Incidents;

/// <summary>The named retry pipelines: as many tries as the options say, and only for what counts as a lost race.</summary>
public sealed class IncidentRetryPipelinesTests
{
    private static ResiliencePipelineProvider<string> Pipelines(Action<IncidentOptions>? incidents = null, Action<ApprovalOptions>? approvals = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOptions<IncidentOptions>().Configure(o =>
        {
            o.WriteRetryDelay = TimeSpan.FromMilliseconds(1);
            o.StoreUpdateRetryDelay = TimeSpan.FromMilliseconds(1);
            incidents?.Invoke(o);
        });
        services.AddOptions<ApprovalOptions>().Configure(o => approvals?.Invoke(o));
        services.AddIncidentRetryPipelines();
        services.AddApprovalRetryPipelines();
        return services.BuildServiceProvider().GetRequiredService<ResiliencePipelineProvider<string>>();
    }

    /// <summary>A real unique-key violation from SQLite.</summary>
    private static SqliteException UniqueViolation()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('a'); INSERT INTO t VALUES ('a');";
        return Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
    }

    private static async Task<int> TriesUntilItGivesUpAsync(ResiliencePipelineProvider<string> pipelines, string name, Exception failure)
    {
        var tries = 0;
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => pipelines.GetPipeline(name).ExecuteAsync<int>(_ =>
        {
            tries++;
            throw failure;
        }, CancellationToken.None).AsTask());
        Assert.Same(failure, thrown);
        return tries;
    }

    [Fact]
    public async Task An_incident_write_that_keeps_losing_is_tried_as_often_as_the_options_say()
    {
        var pipelines = Pipelines(o => o.WriteAttempts = 4);
        Assert.Equal(4, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.Write, new IncidentConcurrencyException("inc-1")));
        Assert.Equal(4, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.Command, new IncidentConcurrencyException("inc-1")));
    }

    [Fact]
    public async Task A_taken_key_is_a_lost_race_for_reports_and_an_answer_for_commands()
    {
        var pipelines = Pipelines(o => o.WriteAttempts = 3);
        Assert.Equal(3, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.Write, UniqueViolation()));
        Assert.Equal(1, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.Command, UniqueViolation()));
    }

    [Fact]
    public async Task Anything_else_is_not_tried_again()
    {
        var pipelines = Pipelines();
        Assert.Equal(1, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.Write, new InvalidOperationException("bug")));
        Assert.Equal(1, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.StoreUpdate, UniqueViolation()));
        Assert.Equal(8, await TriesUntilItGivesUpAsync(pipelines, IncidentRetryPipelines.StoreUpdate, new IncidentConcurrencyException("inc-1")));
    }

    [Fact]
    public void A_retry_waits_a_random_time_that_grows_with_each_failed_try()
    {
        var step = TimeSpan.FromMilliseconds(10);
        var waits = Enumerable.Range(0, 200).Select(_ => RaceRetry.DelayBefore(3, step)).ToList();
        Assert.All(waits, w => Assert.InRange(w, TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(30)));
        Assert.True(waits.Distinct().Count() > 1, "the waits are not random");
        Assert.Equal(TimeSpan.Zero, RaceRetry.DelayBefore(5, TimeSpan.Zero));
    }
}
