using System.Text.Json.Nodes;

namespace ChatOpsPull.Tests.Slack.FakeSlack;

/// <summary>
/// Checks a message's blocks the way Slack does before accepting chat.postMessage / chat.update, with Slack's
/// documented limits. Errors are phrased like Slack's invalid_blocks messages, with a JSON pointer.
/// </summary>
public static class BlockKitRules
{
    public static IReadOnlyList<string> Check(JsonObject message)
    {
        var errors = new List<string>();
        if (message["blocks"] is null)
        {
            return errors;
        }

        if (message["blocks"] is not JsonArray blocks)
        {
            errors.Add("must be an array [json-pointer:/blocks]");
            return errors;
        }

        if (blocks.Count > 50)
        {
            errors.Add("no more than 50 items allowed [json-pointer:/blocks]");
        }

        var blockIds = new HashSet<string>(StringComparer.Ordinal);
        var actionIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < blocks.Count; i++)
        {
            var path = $"/blocks/{i}";
            if (blocks[i] is not JsonObject block)
            {
                errors.Add($"must be an object [json-pointer:{path}]");
                continue;
            }

            if (Str(block, "block_id") is { } blockId)
            {
                Length(errors, blockId, 1, 255, path + "/block_id");
                if (!blockIds.Add(blockId))
                {
                    errors.Add($"duplicate block_id [json-pointer:{path}/block_id]");
                }
            }

            switch (Str(block, "type"))
            {
                case "header":
                    TextObject(errors, block["text"], path + "/text", 150, plainOnly: true, required: true);
                    break;
                case "section":
                    CheckSection(errors, block, path);
                    break;
                case "actions":
                    CheckActions(errors, block, path, actionIds);
                    break;
                case "context":
                    if (block["elements"] is not JsonArray elements || elements.Count is < 1 or > 10)
                    {
                        errors.Add($"must provide between 1 and 10 elements [json-pointer:{path}/elements]");
                        break;
                    }

                    for (var e = 0; e < elements.Count; e++)
                    {
                        if (elements[e] is JsonObject element && Str(element, "type") == "image")
                        {
                            continue;
                        }

                        TextObject(errors, elements[e], $"{path}/elements/{e}", 3000, plainOnly: false, required: true);
                    }

                    break;
                case "divider":
                    break;
                case "image":
                    if (string.IsNullOrEmpty(Str(block, "image_url")) && block["slack_file"] is null)
                    {
                        errors.Add($"must provide image_url or slack_file [json-pointer:{path}]");
                    }

                    Length(errors, Str(block, "alt_text"), 1, 2000, path + "/alt_text");
                    break;
                default:
                    errors.Add($"unknown or missing block type [json-pointer:{path}/type]");
                    break;
            }
        }

        return errors;
    }

    private static void CheckSection(List<string> errors, JsonObject block, string path)
    {
        var hasText = block["text"] is not null;
        var hasFields = block["fields"] is not null;
        if (!hasText && !hasFields)
        {
            errors.Add($"must provide either text or fields [json-pointer:{path}]");
            return;
        }

        if (hasText)
        {
            TextObject(errors, block["text"], path + "/text", 3000, plainOnly: false, required: true);
        }

        if (hasFields)
        {
            if (block["fields"] is not JsonArray fields || fields.Count is < 1 or > 10)
            {
                errors.Add($"must provide between 1 and 10 fields [json-pointer:{path}/fields]");
                return;
            }

            for (var f = 0; f < fields.Count; f++)
            {
                TextObject(errors, fields[f], $"{path}/fields/{f}", 2000, plainOnly: false, required: true);
            }
        }
    }

    private static void CheckActions(List<string> errors, JsonObject block, string path, HashSet<string> actionIds)
    {
        if (block["elements"] is not JsonArray elements || elements.Count is < 1 or > 25)
        {
            errors.Add($"must provide between 1 and 25 elements [json-pointer:{path}/elements]");
            return;
        }

        for (var e = 0; e < elements.Count; e++)
        {
            var elementPath = $"{path}/elements/{e}";
            if (elements[e] is not JsonObject button || Str(button, "type") != "button")
            {
                errors.Add($"only buttons are expected here [json-pointer:{elementPath}]");
                continue;
            }

            TextObject(errors, button["text"], elementPath + "/text", 75, plainOnly: true, required: true);
            var actionId = Str(button, "action_id");
            if (actionId is not null)
            {
                Length(errors, actionId, 1, 255, elementPath + "/action_id");
                if (!actionIds.Add(actionId))
                {
                    errors.Add($"duplicate action_id [json-pointer:{elementPath}/action_id]");
                }
            }

            if (button["value"] is not null)
            {
                Length(errors, Str(button, "value"), 1, 2000, elementPath + "/value");
            }

            if (Str(button, "style") is { } style && style is not ("primary" or "danger"))
            {
                errors.Add($"must be one of primary, danger [json-pointer:{elementPath}/style]");
            }

            if (button["confirm"] is JsonObject confirm)
            {
                TextObject(errors, confirm["title"], elementPath + "/confirm/title", 100, plainOnly: true, required: true);
                TextObject(errors, confirm["text"], elementPath + "/confirm/text", 300, plainOnly: false, required: true);
                TextObject(errors, confirm["confirm"], elementPath + "/confirm/confirm", 30, plainOnly: true, required: true);
                TextObject(errors, confirm["deny"], elementPath + "/confirm/deny", 30, plainOnly: true, required: true);
            }
            else if (button["confirm"] is not null)
            {
                errors.Add($"must be an object [json-pointer:{elementPath}/confirm]");
            }
        }
    }

    private static void TextObject(List<string> errors, JsonNode? node, string path, int max, bool plainOnly, bool required)
    {
        if (node is null)
        {
            if (required)
            {
                errors.Add($"must provide a text object [json-pointer:{path}]");
            }

            return;
        }

        if (node is not JsonObject text)
        {
            errors.Add($"must be a text object [json-pointer:{path}]");
            return;
        }

        var type = Str(text, "type");
        if (type is not ("plain_text" or "mrkdwn") || (plainOnly && type != "plain_text"))
        {
            errors.Add($"must be {(plainOnly ? "plain_text" : "plain_text or mrkdwn")} [json-pointer:{path}/type]");
        }

        Length(errors, Str(text, "text"), 1, max, path + "/text");
    }

    private static void Length(List<string> errors, string? value, int min, int max, string path)
    {
        if (value is null || value.Length < min)
        {
            errors.Add($"must be more than {min - 1} characters [json-pointer:{path}]");
        }
        else if (value.Length > max)
        {
            errors.Add($"must be less than {max + 1} characters [json-pointer:{path}]");
        }
    }

    private static string? Str(JsonObject obj, string name) =>
        obj[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
