import{a as o,b as e}from"./46ME4ER7.js";import"./CW4VESK5.js";import"./Y6YTDJ7Y.js";import"./K6Z2JKIG.js";import"./UHGBEX5C.js";import"./X7FWGCSN.js";import"./PTQD2HK5.js";import"./ULZV2JNV.js";import"./VR2TJL6F.js";import"./O5DSF26F.js";import"./WJGUZPZ4.js";import"./IZE422NK.js";import"./4P4HICRC.js";import"./XKZKQ5SK.js";import"./7LHAYBGH.js";import"./HPDUMF7J.js";import"./JGUSPUJW.js";import"./JGAYKROL.js";import"./LCXEFLDK.js";import{a as r}from"./XGWWIPDP.js";import"./ZM2XUYVT.js";var m=r(t=>`${o(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,"getStyles"),i=m,B=e({defaultLayout:"swimlane",styles:i});export{B as diagram};
