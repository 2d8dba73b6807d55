using Dapper;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// Where the bot can reach a Teams conversation: captured from validated activities (the bot added to a team or
/// chat, any message to it), so proactive posts work after a restart. <see cref="ConversationId"/> is the base id
/// (a channel's "19:…@thread.tacv2", without ";messageid=").
/// </summary>
public sealed record TeamsConversationReference(
    string ConversationId,
    string ServiceUrl,
    string? TenantId,
    string? TeamId,
    string? TeamName,
    string? ChannelId,
    string? ChannelName,
    string ConversationType,
    string BotId,
    string? BotName)
{
    public bool IsChannel => ConversationType == "channel";
}

/// <summary>One card posted in one conversation: the rendered views and the Teams activity that shows them.</summary>
/// <param name="ViewerJson">What everyone sees (the posted activity's card).</param>
/// <param name="ApproverJson">What approvers get on refresh (with the approve/deny buttons).</param>
/// <param name="Approvers">AAD object ids who get <see cref="ApproverJson"/>.</param>
public sealed record TeamsPostedCard(
    string ConversationId,
    string CardKey,
    string? ActivityId,
    string? ThreadConversationId,
    string ViewerJson,
    string ApproverJson,
    IReadOnlyList<string> Approvers,
    string FallbackText);

/// <summary>Teams state in <see cref="BotDatabase"/>: conversation references, posted cards, user ids seen.</summary>
public sealed class TeamsConversationStore(BotDatabase database, TimeProvider time)
{
    public static readonly SchemaMigration Migration = new(
        "0301-teams-conversations",
        """
        CREATE TABLE teams_conversations (
            conversation_id   TEXT PRIMARY KEY,
            service_url       TEXT NOT NULL,
            tenant_id         TEXT NULL,
            team_id           TEXT NULL,
            team_name         TEXT NULL,
            channel_id        TEXT NULL,
            channel_name      TEXT NULL,
            conversation_type TEXT NOT NULL,
            bot_id            TEXT NOT NULL,
            bot_name          TEXT NULL,
            updated_at        TEXT NOT NULL
        );
        CREATE TABLE teams_cards (
            conversation_id        TEXT NOT NULL,
            card_key               TEXT NOT NULL,
            activity_id            TEXT NULL,
            thread_conversation_id TEXT NULL,
            viewer_json            TEXT NOT NULL,
            approver_json          TEXT NOT NULL,
            approvers              TEXT NOT NULL,
            fallback_text          TEXT NOT NULL,
            updated_at             TEXT NOT NULL,
            PRIMARY KEY (conversation_id, card_key)
        );
        CREATE TABLE teams_users (
            aad_object_id TEXT PRIMARY KEY,
            user_id       TEXT NOT NULL,
            name          TEXT NULL,
            updated_at    TEXT NOT NULL
        );
        """);

    public async Task SaveReferenceAsync(TeamsConversationReference reference, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO teams_conversations (conversation_id, service_url, tenant_id, team_id, team_name, channel_id, channel_name, conversation_type, bot_id, bot_name, updated_at)
            VALUES (@ConversationId, @ServiceUrl, @TenantId, @TeamId, @TeamName, @ChannelId, @ChannelName, @ConversationType, @BotId, @BotName, @At)
            ON CONFLICT (conversation_id) DO UPDATE SET
                service_url = excluded.service_url,
                tenant_id = COALESCE(excluded.tenant_id, teams_conversations.tenant_id),
                team_id = COALESCE(excluded.team_id, teams_conversations.team_id),
                team_name = COALESCE(excluded.team_name, teams_conversations.team_name),
                channel_id = COALESCE(excluded.channel_id, teams_conversations.channel_id),
                channel_name = COALESCE(excluded.channel_name, teams_conversations.channel_name),
                conversation_type = excluded.conversation_type,
                bot_id = excluded.bot_id,
                bot_name = COALESCE(excluded.bot_name, teams_conversations.bot_name),
                updated_at = excluded.updated_at
            """,
            new
            {
                reference.ConversationId,
                reference.ServiceUrl,
                reference.TenantId,
                reference.TeamId,
                reference.TeamName,
                reference.ChannelId,
                reference.ChannelName,
                reference.ConversationType,
                reference.BotId,
                reference.BotName,
                At = Now(),
            },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task RemoveReferenceAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM teams_conversations WHERE conversation_id = @conversationId",
            new { conversationId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Removes every conversation of a team (the bot was removed from it).</summary>
    public async Task RemoveTeamAsync(string teamId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM teams_conversations WHERE team_id = @teamId OR conversation_id = @teamId",
            new { teamId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<TeamsConversationReference?> FindReferenceAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<TeamsConversationReference>(new CommandDefinition(
            """
            SELECT conversation_id AS ConversationId, service_url AS ServiceUrl, tenant_id AS TenantId, team_id AS TeamId,
                   team_name AS TeamName, channel_id AS ChannelId, channel_name AS ChannelName,
                   conversation_type AS ConversationType, bot_id AS BotId, bot_name AS BotName
            FROM teams_conversations WHERE conversation_id = @conversationId
            """,
            new { conversationId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<TeamsConversationReference>> ListReferencesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<TeamsConversationReference>(new CommandDefinition(
            """
            SELECT conversation_id AS ConversationId, service_url AS ServiceUrl, tenant_id AS TenantId, team_id AS TeamId,
                   team_name AS TeamName, channel_id AS ChannelId, channel_name AS ChannelName,
                   conversation_type AS ConversationType, bot_id AS BotId, bot_name AS BotName
            FROM teams_conversations ORDER BY conversation_id
            """,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.ToList();
    }

    /// <summary>Remembers which Teams user id (the "29:…" MRI that card refresh needs) belongs to an AAD object id.</summary>
    public async Task SaveUserAsync(string aadObjectId, string userId, string? name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO teams_users (aad_object_id, user_id, name, updated_at) VALUES (@aadObjectId, @userId, @name, @at)
            ON CONFLICT (aad_object_id) DO UPDATE SET user_id = excluded.user_id, name = COALESCE(excluded.name, teams_users.name), updated_at = excluded.updated_at
            """,
            new { aadObjectId, userId, name, at = Now() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> FindUserIdsAsync(IReadOnlyCollection<string> aadObjectIds, CancellationToken cancellationToken)
    {
        if (aadObjectIds.Count == 0)
        {
            return [];
        }

        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<string>();
        foreach (var aad in aadObjectIds)
        {
            var id = await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
                "SELECT user_id FROM teams_users WHERE aad_object_id = @aad",
                new { aad },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (id is not null)
            {
                found.Add(id);
            }
        }

        return found;
    }

    /// <summary>Stores the newest rendering of a card; keeps the Teams activity id once it is known.</summary>
    public async Task SaveCardAsync(string conversationId, string cardKey, string viewerJson, string approverJson, IReadOnlyList<string> approvers, string fallbackText, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO teams_cards (conversation_id, card_key, activity_id, thread_conversation_id, viewer_json, approver_json, approvers, fallback_text, updated_at)
            VALUES (@conversationId, @cardKey, NULL, NULL, @viewerJson, @approverJson, @approvers, @fallbackText, @at)
            ON CONFLICT (conversation_id, card_key) DO UPDATE SET
                viewer_json = excluded.viewer_json, approver_json = excluded.approver_json, approvers = excluded.approvers,
                fallback_text = excluded.fallback_text, updated_at = excluded.updated_at
            """,
            new { conversationId, cardKey, viewerJson, approverJson, approvers = string.Join('\n', approvers), fallbackText, at = Now() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task SetCardActivityAsync(string conversationId, string cardKey, string activityId, string threadConversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE teams_cards SET activity_id = @activityId, thread_conversation_id = @threadConversationId WHERE conversation_id = @conversationId AND card_key = @cardKey",
            new { conversationId, cardKey, activityId, threadConversationId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<TeamsPostedCard?> FindCardAsync(string conversationId, string cardKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<CardRow>(new CommandDefinition(
            """
            SELECT conversation_id AS ConversationId, card_key AS CardKey, activity_id AS ActivityId,
                   thread_conversation_id AS ThreadConversationId, viewer_json AS ViewerJson, approver_json AS ApproverJson,
                   approvers AS Approvers, fallback_text AS FallbackText
            FROM teams_cards WHERE conversation_id = @conversationId AND card_key = @cardKey
            """,
            new { conversationId, cardKey },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row is null
            ? null
            : new TeamsPostedCard(
                row.ConversationId,
                row.CardKey,
                row.ActivityId,
                row.ThreadConversationId,
                row.ViewerJson,
                row.ApproverJson,
                row.Approvers.Split('\n', StringSplitOptions.RemoveEmptyEntries),
                row.FallbackText);
    }

    private string Now() => time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private sealed record CardRow(
        string ConversationId,
        string CardKey,
        string? ActivityId,
        string? ThreadConversationId,
        string ViewerJson,
        string ApproverJson,
        string Approvers,
        string FallbackText);
}
