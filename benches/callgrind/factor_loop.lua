-- Lua port of factor_loop.mini (the seed's generator as a coroutine).
local function factorize(number)
  return coroutine.wrap(function()
    for i = 1, number do
      if number % i == 0 then coroutine.yield(i) end
    end
  end)
end

local n, count = tonumber(arg[1]), 0
for _ in factorize(n) do count = count + 1 end
print(count)
