-- Driven by tests/lsp/test_neovim.py: open an ame.yml in headless Neovim with ame-lsp attached,
-- wait for its diagnostics, ask for a hover, and write what Neovim has to AME_NVIM_OUT (JSON).
local out = os.getenv("AME_NVIM_OUT")
local file = os.getenv("AME_NVIM_FILE")
local repo = os.getenv("AME_REPO")
local result = { diagnostics = {}, hover = nil, how = nil, error = nil }

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(result) }, out)
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  vim.cmd("filetype on")
  if vim.lsp.start ~= nil then
    -- Neovim >= 0.8: the set-up users copy, editors/neovim/ame.lua, as it is.
    dofile(repo .. "/editors/neovim/ame.lua")
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    result.how = "editors/neovim/ame.lua"
  else
    -- Neovim 0.7 (Debian 12): same settings through the older API.
    vim.cmd("edit " .. vim.fn.fnameescape(file))
    local id = vim.lsp.start_client({
      name = "ame-lsp",
      cmd = { "ame-lsp" },
      root_dir = vim.fn.fnamemodify(file, ":h"),
      init_options = { debounceMs = 150 },
    })
    vim.lsp.buf_attach_client(0, id)
    result.how = "vim.lsp.start_client"
  end
  result.filetype = vim.bo.filetype
  vim.wait(60000, function()
    return #vim.diagnostic.get(0) > 0
  end, 50)
  for _, d in ipairs(vim.diagnostic.get(0)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(result.diagnostics, {
      lnum = d.lnum,
      col = d.col,
      severity = d.severity,
      message = d.message,
      source = d.source,
      code = d.code or lsp.code,
    })
  end
  local first = result.diagnostics[1]
  if first ~= nil then
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(0) },
      position = { line = first.lnum, character = first.col },
    }
    local replies = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 20000) or {}
    for _, reply in pairs(replies) do
      if reply.result and reply.result.contents then
        result.hover = reply.result.contents.value
      end
    end
  end
end)
if not ok then
  result.error = tostring(err)
end
finish()
