using ChatOpsPull.Tests.Storage;

namespace ChatOpsPull.Tests.Incidents;

public sealed class IncidentOptionsTests
{
    [Theory]
    [InlineData("Incidents:RollupThreshold", "1", "Incidents:RollupThreshold must be between 2 and 1000 workloads.")]
    [InlineData("Incidents:QuietWindow", "30.00:00:00", "Incidents:QuietWindow must be between 0 and 7 days")]
    [InlineData("Incidents:WriteAttempts", "0", "Incidents:WriteAttempts must be between 1 and 100.")]
    [InlineData("Incidents:StoreUpdateRetryDelay", "00:01:00", "Incidents:StoreUpdateRetryDelay must be between 0 and 10 seconds")]
    [InlineData("Approvals:DecisionAttempts", "0", "Approvals:DecisionAttempts must be between 1 and 100.")]
    [InlineData("Jobs:WorkerCount", "0", "Jobs:WorkerCount must be between 1 and 100.")]
    [InlineData("Jobs:SqlitePollInterval", "00:00:00.001", "Jobs:SqlitePollInterval must be between 50 ms and 1 minute.")]
    [InlineData("Jobs:SqliteFile", "../escape.db", "Jobs:SqliteFile must be a plain file name")]
    [InlineData("Web:MaxFailedLogins", "0", "Web:MaxFailedLogins must be between 1 and 100.")]
    public async Task A_wrong_setting_stops_start_with_a_sentence(string key, string value, string sentence)
    {
        using var storage = TestStorage.Sqlite();
        await using var host = new BotTestHost(storage, new() { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => host.Services);
        Assert.Contains(sentence, error.ToString(), StringComparison.Ordinal);
    }
}
