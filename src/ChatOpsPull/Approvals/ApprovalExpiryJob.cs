using System.ComponentModel;
using Hangfire;

namespace ChatOpsPull.Approvals;

/// <summary>
/// Every minute: marks approval requests whose time is up as expired, so their cards say so even when nobody clicks
/// or reads them (clicks and reads expire them too).
/// </summary>
public sealed partial class ApprovalExpiryJob(ApprovalWorkflow approvals, ILogger<ApprovalExpiryJob> logger)
{
    public const string RecurringId = "approval-expiry";

    [DisplayName("Expire approval requests")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var expired = await approvals.ExpireDueAsync(cancellationToken).ConfigureAwait(false);
        if (expired > 0)
        {
            LogExpired(logger, expired);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Expired} approval request(s) expired")]
    private static partial void LogExpired(ILogger logger, int expired);
}

/// <summary>Registers the expiry as a recurring job when the host starts.</summary>
internal sealed class ApprovalExpiryRegistration(IRecurringJobManager recurring) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<ApprovalExpiryJob>(ApprovalExpiryJob.RecurringId, job => job.RunAsync(CancellationToken.None), "* * * * *");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
