// Runs NBC's official KHQR SDK (npm bakong-khqr 1.0.20) on cases read as JSON from stdin and
// prints what it generates, plus whether it verifies the string shopqr made for each case.
// Run from the folder where the SDK is installed (tests/.cache/khqr-sdk).
const path = require("path");
const { BakongKHQR, khqrData, IndividualInfo, MerchantInfo } = require(
  path.join(process.cwd(), "node_modules", "bakong-khqr"));

const input = require("fs").readFileSync(0, "utf8");
const cases = JSON.parse(input);
const realNow = Date.now;
const out = cases.map((c) => {
  const optional = {
    currency: c.currency === "USD" ? khqrData.currency.usd : khqrData.currency.khr,
    amount: c.amount,
    billNumber: c.bill,
    mobileNumber: c.mobile,
    storeLabel: c.store,
    terminalLabel: c.terminal,
    purposeOfTransaction: c.purpose,
    languagePreference: c.lang,
    merchantNameAlternateLanguage: c.alt_name,
    merchantCityAlternateLanguage: c.alt_city,
    accountInformation: c.info,
    acquiringBank: c.type === "individual" ? c.bank : undefined,
    expirationTimestamp: c.expires,
  };
  Date.now = () => c.created; // pin the creation time the SDK writes into tag 99
  try {
    const khqr = new BakongKHQR();
    const result = c.type === "merchant"
      ? khqr.generateMerchant(new MerchantInfo(c.account, c.name, c.city, c.merchant_id, c.bank,
                                               optional))
      : khqr.generateIndividual(new IndividualInfo(c.account, c.name, c.city, optional));
    Date.now = realNow;
    if (!result.data) return { error: result.status };
    return { sdk: result.data.qr, md5: result.data.md5,
             verified: BakongKHQR.verify(c.ours).isValid };
  } catch (e) {
    Date.now = realNow;
    return { error: String(e && e.status ? JSON.stringify(e.status) : e) };
  }
});
process.stdout.write(JSON.stringify(out));
