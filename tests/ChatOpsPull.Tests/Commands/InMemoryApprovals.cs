using System.Collections.Concurrent;
using ChatOpsPull.Approvals;
using ChatOpsPull.Chat;
using ChatOpsPull.Chat.Actions;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Remediation;
using ChatOpsPull.Incidents;
using ChatOpsPull.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatOpsPull.Tests.Commands;

/// <summary>
/// A small in-test approval service (the real one is built on another branch): requests and votes are decided by the
/// real <see cref="ApprovalPolicy"/> from ChatOpsPull.Core and kept in memory. It answers <c>retry</c> requests, the
/// read side for status and the web page, and button clicks (approve/deny), recording every click.
/// </summary>
public sealed class InMemoryApprovals(ApprovalPolicy policy, TimeProvider? time = null) : IRemediationRequests, IApprovalQueries, IChatActionHandler
{
    private readonly ConcurrentDictionary<string, ApprovalRequest> _requests = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private IncidentStore? _incidents;
    private int _next;

    public ConcurrentQueue<ChatActionRequest> Clicks { get; } = new();

    public ConcurrentQueue<(ChatUser User, string? IncidentId, string Cluster, RemediationPlan Plan)> Asked { get; } = new();

    public IReadOnlyCollection<ApprovalRequest> Requests => _requests.Values.ToArray();

    /// <summary>One rule: these approvers ("slack:U…", "teams:&lt;aad&gt;", "web:alice") for every namespace, one approval needed.</summary>
    public static InMemoryApprovals For(params string[] approvers) =>
        new(new ApprovalPolicy(
            [new ApprovalRule("*", "*", approvers.ToHashSet(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal), 1, AllowSelfApproval: false)],
            TimeSpan.FromHours(1),
            new HashSet<RemediationKind>()));

    /// <summary>Registers this instance as the approval service and the click handler of a test host.</summary>
    public void Register(IServiceCollection services)
    {
        services.RemoveAll<IChatActionHandler>();
        services.AddSingleton<IRemediationRequests>(sp =>
        {
            _incidents = sp.GetRequiredService<IncidentStore>();
            return this;
        });
        services.AddSingleton<IApprovalQueries>(sp =>
        {
            _incidents = sp.GetRequiredService<IncidentStore>();
            return this;
        });
        services.AddSingleton<IChatActionHandler>(sp =>
        {
            _incidents = sp.GetRequiredService<IncidentStore>();
            return this;
        });
    }

    /// <summary>Stores a pending request as if someone had asked (for page tests).</summary>
    public ApprovalRequest Seed(string incidentId, RemediationPlan plan, string requestedBy = "carol")
    {
        var decision = policy.Request(NextId(), incidentId, "test-cluster", plan, new Actor("slack", "U0REQUEST", requestedBy, []), _time.GetUtcNow());
        _requests[decision.Request!.Id] = decision.Request;
        return decision.Request;
    }

    public Task<ChatReply> RequestAsync(ChatUser user, string? incidentId, string cluster, RemediationPlan plan, bool ownerConfirmed, CancellationToken cancellationToken) =>
        RequestAsync(user, incidentId, cluster, plan, cancellationToken);

    public async Task<ChatReply> RequestAsync(ChatUser user, string? incidentId, string cluster, RemediationPlan plan, CancellationToken cancellationToken)
    {
        Asked.Enqueue((user, incidentId, cluster, plan));
        var decision = policy.Request(NextId(), incidentId ?? string.Empty, cluster, plan, ActorOf(user), _time.GetUtcNow());
        if (decision.Request is null)
        {
            return new ChatReply(decision.Message);
        }

        _requests[decision.Request.Id] = decision.Request;
        return new ChatReply(decision.Message) { Card = await CardForAsync(decision.Request, cancellationToken) };
    }

    public async Task<ChatReply> HandleAsync(ChatActionRequest request, CancellationToken cancellationToken)
    {
        Clicks.Enqueue(request);
        if (request.Payload.Verb is not (CardVerb.Approve or CardVerb.Deny))
        {
            return new ChatReply($"Noted: {CardActionPayload.VerbName(request.Payload.Verb)} on {request.Payload.Target}.");
        }

        if (!_requests.TryGetValue(request.Payload.Target, out var stored))
        {
            return new ChatReply("There is no such approval request. Nothing changed.");
        }

        var decision = policy.Decide(stored, "test-cluster", ActorOf(request.User), request.Payload.Verb == CardVerb.Approve, _time.GetUtcNow());
        if (!decision.Changed)
        {
            return new ChatReply(decision.Message);
        }

        if (!_requests.TryUpdate(stored.Id, decision.Request!, stored))
        {
            return new ChatReply("Someone else decided at the same moment. Nothing changed.");
        }

        return new ChatReply(decision.Message) { UpdatedCard = await CardForAsync(decision.Request!, cancellationToken) };
    }

    public Task<IReadOnlyList<ApprovalRequest>> ListPendingAsync(string? @namespace, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(_requests.Values
            .Where(r => r.Status == ApprovalStatus.Pending && (@namespace is null || r.Plan.Namespace == @namespace))
            .OrderBy(r => r.RequestedAt)
            .ToList());

    public Task<IReadOnlyList<ApprovalRequest>> ListForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(_requests.Values.Where(r => r.IncidentId == incidentId).OrderBy(r => r.RequestedAt).ToList());

    public Task<IReadOnlyList<RemediationRun>> ListRunsForIncidentAsync(string incidentId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RemediationRun>>(_requests.Values
            .Where(r => r.IncidentId == incidentId && r.Status == ApprovalStatus.Approved)
            .Select(r => new RemediationRun(r.Id, r.IncidentId, r.Plan, RunStatus.Queued, "job queued by the test approval service", r.RequestedAt, null))
            .ToList());

    public Task<IReadOnlyList<ApprovalRequest>> ListRequestedAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ApprovalRequest>>(_requests.Values.Where(r => r.RequestedAt >= from && r.RequestedAt < to).ToList());

    /// <summary>The incident's card when the request belongs to one, else the standalone request card.</summary>
    private async Task<Card> CardForAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (request.IncidentId.Length > 0 && _incidents is not null && await _incidents.GetAsync(request.IncidentId, cancellationToken) is { } incident)
        {
            var approvals = await ListForIncidentAsync(incident.Id, cancellationToken);
            var runs = await ListRunsForIncidentAsync(incident.Id, cancellationToken);
            return IncidentCardBuilder.Build(new IncidentCardInput(incident, approvals, runs, [], now));
        }

        var card = WebIncidentBoard.StandaloneApprovalCard(request, now);
        return request.Status == ApprovalStatus.Pending
            ? card
            : card with { Title = $"{request.Plan.Title}: {request.Status.ToString().ToLowerInvariant()}", Actions = [] };
    }

    private string NextId() => $"apr-test{Interlocked.Increment(ref _next):D4}";

    private static Actor ActorOf(ChatUser user) => new(
        user.Platform switch
        {
            ChatPlatform.Slack => "slack",
            ChatPlatform.Teams => "teams",
            ChatPlatform.Web => "web",
            _ => "unknown",
        },
        user.Id,
        user.DisplayName,
        user.Groups);
}
